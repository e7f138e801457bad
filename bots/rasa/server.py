"""The action server process: rasa-sdk's Sanic app (``/webhook``, ``/actions``,
``/health``) with our actions, the container built on the server's own loop.

``bots`` never imports ``app``: the caller (the ``isp-support actions`` command)
passes ``app.container.build_container`` in.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Protocol

from rasa_sdk.constants import DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_SERVER_PORT
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request

from dialogs.engine import DialogEngine
from bots.rasa.actions import executor_for

log = logging.getLogger(__name__)

# Rasa sends endpoints.yml's ``action_endpoint.token`` as this query parameter.
TOKEN_PARAMETER = "token"
OPEN_PATHS = ("/health",)


class EngineContainer(Protocol):
    engine: DialogEngine

    async def close(self) -> None: ...


ContainerFactory = Callable[[Any], Awaitable[EngineContainer]]


class _LateEngine:
    """The engine, once the server's ``before_server_start`` has built it."""

    def __init__(self) -> None:
        self.engine: DialogEngine | None = None

    def __call__(self) -> DialogEngine:
        if self.engine is None:
            raise RuntimeError("the action server has not started (no engine yet)")
        return self.engine


def create_action_server(settings: Any, build_container: ContainerFactory, *, token: str | None = None) -> Sanic:
    """The Sanic app; nothing starts until it is served (or its ASGI lifespan runs).

    ``build_container(settings)`` runs in ``before_server_start`` and the container is
    closed in ``after_server_stop``. ``token``: when set, ``/webhook`` and ``/actions``
    answer 401 unless the request carries ``?token=<token>``.
    """
    late_engine = _LateEngine()
    # Rasa calls us server to server; no browser should (empty CORS policy).
    app = create_app(executor_for(late_engine), cors_origins="")
    app.config.KEEP_ALIVE_TIMEOUT = DEFAULT_KEEP_ALIVE_TIMEOUT

    async def open_container(app: Sanic) -> None:
        container = await build_container(settings)
        app.ctx.container = container
        late_engine.engine = container.engine

    async def close_container(app: Sanic) -> None:
        late_engine.engine = None
        container = getattr(app.ctx, "container", None)
        if container is not None:
            app.ctx.container = None
            await container.close()

    app.register_listener(open_container, "before_server_start")
    app.register_listener(close_container, "after_server_stop")
    if token:
        app.on_request(_token_check(token))
    return app


def _token_check(token: str) -> Callable[[Request], Awaitable[Any]]:
    expected = token.encode()

    async def check(request: Request) -> Any:
        if request.path in OPEN_PATHS or request.method == "OPTIONS":
            return None
        given = (request.args.get(TOKEN_PARAMETER) or "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "missing or wrong token"}, status=401)
        return None

    return check


def run_action_server(settings: Any, port: int = DEFAULT_SERVER_PORT, *, build_container: ContainerFactory) -> None:
    """Serve the actions on ``settings.host``:``port`` (one process) until stopped.

    Token: ``settings.rasa_action_token`` (endpoints.yml ``action_endpoint.token``).
    """
    token = settings.rasa_action_token.get_secret_value() if settings.rasa_action_token else None
    if not token and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "the Rasa action server listens on %s without RASA_ACTION_TOKEN: anyone who reaches it "
            "can write as any Rasa sender id",
            settings.host,
        )
    app = create_action_server(settings, build_container, token=token)
    log.info("Rasa action server on http://%s:%s/webhook", settings.host, port)
    app.run(host=settings.host, port=port, single_process=True, access_log=False, motd=False)
