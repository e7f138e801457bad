"""The express lane: the few hottest routes served by the app's edge directly.

A web chat message is the hot path of the whole service. Reaching its endpoint through
FastAPI's router cost about 10% of a message's CPU (benchmarks, part 4 profile): each
included router re-checks its routes' version and matches its routes in turn, then
four layers of Starlette middleware and FastAPI's request handler run below the edge.
A route declared with ``route_class_override=ExpressRoute`` is still an ordinary
``APIRoute`` (the OpenAPI document, ``app.routes``), but ``app.asgi.HttpEdge`` serves
its exact method and path by calling :func:`express_app` at once.

The endpoint of an express route takes the ``Request`` and returns a ``Response``
(no dependencies, no body parameter: it reads them itself). What it raises is answered
by the app's own exception handlers, as the router would have had it answered.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send


class ExpressRoute(APIRoute):
    """Marks a route the edge serves without the router (see the module)."""


def express_routes(routers: Iterable) -> dict[tuple[str, str], ASGIApp]:
    """``{(method, path): app}`` of the express routes of ``routers`` (APIRouters)."""
    lanes: dict[tuple[str, str], ASGIApp] = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, ExpressRoute):
                for method in route.methods:
                    lanes[(method, route.path)] = express_app(route)
    return lanes


def express_app(route: ExpressRoute) -> ASGIApp:
    endpoint = route.endpoint

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = route  # what the router leaves for the metrics' route label
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as error:
            handler = _exception_handler(scope["app"], error)
            if handler is None:
                raise  # the edge's last line of defence answers it (500/503)
            response = await handler(request, error)
        await response(scope, receive, send)

    return app


def _exception_handler(app: FastAPI, error: Exception):
    """The handler the app registered for the closest class of ``error`` (as Starlette's
    exception middleware looks it up)."""
    handlers = app.exception_handlers
    for cls in type(error).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None
