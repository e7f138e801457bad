"""The ASGI application: the container's lifetime, shared HTTP hardening, and every
channel's routes.

Errors share one JSON shape for API clients: ``{"error": {"code": "...", "message": "..."}}``
(validation errors add ``"details"``). Routers raise ``HTTPException`` with
``detail={"code": ..., "message": ...}`` to choose the code; a plain string detail gets
a code derived from the status.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from contextlib import asynccontextmanager
from typing import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.channels import enabled_channels
from app.container import Container, build_container
from app.metrics import MeteredEngine, MeteredSender, QueueGauges, metrics_router, observe_request
from app.settings import Settings
from bots.channel import Channel, ChannelContext
from bots.express import express_routes
from dispatcher.console.api import routers as console_routers
from dispatcher.ratings import Ratings

log = logging.getLogger(__name__)

ContainerFactory = Callable[[Settings], Awaitable[Container]]
HEALTH_CHECK_TIMEOUT = 3.0  # seconds per dependency

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, *, headers=None, details=None) -> JSONResponse:
    error: dict = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)


# -- HTTP hardening shared by every channel ----------------------------------------------------
class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit. An HTTPException, so
    FastAPI's body parsing lets it through to the handler (instead of calling it a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail={"code": "body_too_large", "message": f"Request body is larger than {limit} bytes."})


class HttpEdge:
    """Every HTTP request passes this one layer (one wrapper of ``receive`` and one of
    ``send`` where there were three middlewares; about 8 µs less per request):

    - request bodies larger than ``max_bytes`` get 413: at once when Content-Length says
      so, and while streaming when a chunked body grows past the limit;
    - the last line of defence: an unhandled exception is logged once and answered
      500 JSON without a trace;
    - every request is counted and timed by its route (``app.metrics.observe_request``),
      the rejections answered here included.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, express: dict[tuple[str, str], ASGIApp] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # (method, path) → the app of an express route (bots/express.py), served here
        # without the router and the middleware below this one.
        self.express = express or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False
        received = 0
        max_bytes = self.max_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            declared = _content_length(scope)
            if declared == "invalid":
                await error_response(400, "bad_request", "Invalid Content-Length header.")(scope, receive, watched_send)
            elif declared is not None and declared > max_bytes:
                await _too_large(max_bytes)(scope, receive, watched_send)
            else:
                try:
                    app = self.express.get((scope["method"], scope["path"]), self.app) if self.express else self.app
                    await app(scope, limited_receive, watched_send)
                except BodyTooLarge:
                    if response_started:
                        raise
                    await _too_large(max_bytes)(scope, receive, watched_send)
                except Exception as error:
                    if response_started:
                        log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
                        raise
                    if _backing_service_away(error):
                        # The database or Redis is away (restarting): the pools reconnect by
                        # themselves, so the client should simply retry — a 503, not a 500.
                        log.warning("%s %s: a backing service is unavailable: %s: %s",
                                    scope.get("method"), scope.get("path"), type(error).__name__, error)
                        await error_response(503, "unavailable", "A backing service is unavailable; retry shortly.",
                                             headers={"Retry-After": "5"})(scope, receive, watched_send)
                    else:
                        log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
                        await error_response(500, "internal_error", "Internal server error.")(scope, receive, watched_send)
        finally:
            observe_request(scope, status, time.perf_counter() - started)


def _content_length(scope: Scope) -> int | None | str:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return "invalid"
            return length if length >= 0 else "invalid"
    return None


def _too_large(limit: int) -> JSONResponse:
    return error_response(413, "body_too_large", f"Request body is larger than {limit} bytes.", headers={"Connection": "close"})


def _backing_service_away(error: BaseException) -> bool:
    """A lost or refused connection to PostgreSQL/SQLite or Redis (raw, or wrapped by SQLAlchemy)."""
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError, InterfaceError

    if isinstance(error, (ConnectionError, TimeoutError, RedisConnectionError, RedisTimeoutError, InterfaceError)):
        return True
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error.orig, (ConnectionError, TimeoutError))
    return False


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    detail = exc.detail
    if isinstance(detail, dict) and {"code", "message"} <= detail.keys():
        code, message = str(detail["code"]), str(detail["message"])
    else:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = detail if isinstance(detail, str) else "Request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = f"No route for {request.method} {request.url.path}."
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    details = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"] if part != "body") or "body"
    return error_response(
        422, "validation_error", f"{where}: {first['msg']}", details=jsonable_encoder(details)
    )


# -- health ----------------------------------------------------------------------------------------
async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> str:
    try:
        result = await asyncio.wait_for(probe(), HEALTH_CHECK_TIMEOUT)
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        log.warning("health check: %s failed: %s: %s", name, type(error).__name__, error)
        return "failed"
    if result is False:
        log.warning("health check: %s answered not ok", name)
        return "failed"
    return "ok"


async def _database_ok(container: Container) -> None:
    async with container.db_engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


health = APIRouter(tags=["operations"])


@health.get("/healthz", summary="Liveness")
async def healthz() -> dict:
    """200 while the process serves requests; dependencies are `/readyz`'s business (a
    load balancer that restarted processes whenever Redis blinked would make it worse)."""
    return {"status": "ok"}


@health.get(
    "/readyz",
    summary="Readiness: the database and the state store answer",
    responses={503: {"description": "The database or the state store is unavailable"}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers `SELECT 1` and the state store (Redis when configured)
    answers a ping; 503 naming what failed."""
    container: Container = request.app.state.container
    database, state = await asyncio.gather(
        _check("database", lambda: _database_ok(container)),
        _check("state store", container.store.ping),
    )
    ok = database == "ok" and state == "ok"
    body = {"status": "ok" if ok else "unavailable", "database": database, "state": state}
    return JSONResponse(body, status_code=200 if ok else 503)


# -- channels -------------------------------------------------------------------------------------
def channel_context(container: Container) -> ChannelContext:
    return ChannelContext(
        engine=MeteredEngine(container.engine),
        store=container.store,
        delivery=container.delivery,
        history=container.transcript,
        receipts=container.receipts,
        clock=container.clock,
        inbox=container.inbox,
        outbox=container.outbox,
    )


async def start_channels(channels: list[Channel], container: Container) -> None:
    """Start every enabled channel and register its sender for agents' messages."""
    context = channel_context(container)
    for channel in channels:
        await channel.start(context)
        container.delivery.register(MeteredSender(channel.sender))


async def close_channels(channels: list[Channel]) -> None:
    for channel in reversed(channels):
        try:
            await channel.close()
        except Exception:  # noqa: BLE001 - keep closing the rest
            log.exception("error while closing the %s channel", channel.name)


# -- the app --------------------------------------------------------------------------------------
def freeze_startup_heap() -> None:
    """Move everything built at startup (the NLU model, the directory, the routers:
    hundreds of thousands of long-lived objects) out of the garbage collector's sight.

    Measured under the side-by-side load (benchmarks, part 4): each full (generation 2)
    collection walked that whole heap — 13 of them in 30 s took 3.1 s, up to 324 ms
    each, and they were the p99 of the web chat. After ``gc.freeze()`` a full
    collection only walks what was allocated since. Nothing frozen is freed until
    shutdown thaws it (``gc.unfreeze()``: an app started and stopped many times in one
    process, as in the tests, must not keep every earlier app alive)."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    container_factory: ContainerFactory = build_container,
    freeze_heap: bool = False,
) -> FastAPI:
    """``freeze_heap``: what the served process wants (``app/server.py``): the startup
    heap out of the collector's sight (``freeze_startup_heap``). Off for apps built in
    tests, hundreds to a process, where the full collection it starts with costs more
    than it saves."""
    settings = settings or Settings()
    channels = enabled_channels(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        container = await container_factory(settings)
        try:
            app.state.container = container
            await start_channels(channels, container)
            app.state.console = container.console  # the agent console: live events + sweeper
            # Presence and ratings for the web chat widget, ratings for supervisors.
            app.state.support_desk = Ratings(container.sessions, container.console.service.agents, clock=container.clock)
            await container.console.start()
            queue_gauges = QueueGauges(container.console.service.stats, every=settings.metrics_queue_refresh_seconds)
            queue_gauges.start()
            app.state.queue_gauges = queue_gauges
            if freeze_heap:
                freeze_startup_heap()
            yield
        finally:
            if freeze_heap:
                gc.unfreeze()
            if getattr(app.state, "queue_gauges", None) is not None:
                await app.state.queue_gauges.close()
            await close_channels(channels)
            await container.close()

    app = FastAPI(
        title="isp-support",
        version="0.1.0",
        summary="Support chatbot and callback dispatcher of the provider «Зелёная точка».",
        description=(
            "Subscribers talk to one dialog engine through Telegram, WhatsApp, Viber and the "
            "website chat widget. This API serves the web chat (`/api/webchat`), the widget "
            "(`/widget.js`), and operations (`/healthz`, `/readyz`, `/metrics`).\n\n"
            'Errors are JSON: `{"error": {"code": "...", "message": "..."}}`.'
        ),
        openapi_tags=[
            {"name": "web chat", "description": "The website widget's API: sessions, messages, history, live WebSocket."},
            {"name": "operations", "description": "Health of the service and its dependencies."},
            {"name": "agent console", "description": "Support agents: queues, conversations, callbacks, live events."},
        ],
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry: off. The service reports through Prometheus
        # (/metrics); left on, FastAPI asks OpenTelemetry's global providers (reading
        # the environment) on every request to learn that none is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    app.state.channels = {channel.name: channel for channel in channels}
    app.state.metrics_multiprocess = settings.prometheus_multiproc_dir is not None
    # Channels first: Starlette tries routes in order, and a subscriber's message is the
    # hot path (the console's thirty-odd routes were matched before it on every message).
    channel_routers = [router for channel in channels for router in channel.routes()]
    for router in channel_routers:
        app.include_router(router)
    # The size limit answers before anything reads the body; errors and metrics too.
    # The hottest routes are served by it directly (bots/express.py).
    app.add_middleware(HttpEdge, max_bytes=settings.max_body_bytes, express=express_routes(channel_routers))
    app.include_router(health)
    app.include_router(metrics_router)
    for router in console_routers:  # the agent console: /api/agent/..., /console
        app.include_router(router)
    return app
