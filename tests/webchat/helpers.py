"""Helpers for driving the ASGI app: in-process over httpx, or on a real uvicorn port
(for WebSockets)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import httpx
import uvicorn

from app.asgi import create_app
from app.container import build_container
from app.settings import Settings
from dialogs.messages import Button, Inbound, Reply, TurnResult

SECRET = "test-secret-key-0123456789abcdef-0123456789"


@dataclass
class EchoEngine:
    """Stand-in for the dialog engine, for adapter-level tests only: echoes what it gets.

    Special texts: "agent" → held by an agent; "secret" → the inbound carried a secret;
    "boom" → raises (an unexpected failure inside the engine).
    """

    seen: list[Inbound] = field(default_factory=list)
    # The app's StateStore (set by ``factory_with_engine``): like the real engine's
    # gate, a turn whose ``refused_if_set`` key is set is refused (an ended session).
    store: object | None = None

    async def handle(self, inbound: Inbound) -> TurnResult:
        if inbound.refused_if_set and self.store is not None and await self.store.get(inbound.refused_if_set) is not None:
            return TurnResult(refused=True)
        self.seen.append(inbound)
        if inbound.text == "boom":
            raise RuntimeError("engine exploded")
        if inbound.text == "agent":
            return TurnResult(replies=[Reply("не должно уйти")], held_by_agent=True)
        if inbound.text == "secret":
            return TurnResult(replies=[Reply("Пароль принят.")], inbound_was_secret=True)
        if inbound.payload is not None:
            return TurnResult(replies=[Reply(f"Кнопка: {inbound.payload}")])
        return TurnResult(
            replies=[
                Reply(f"Вы написали: {inbound.text}", buttons=(Button("Баланс", "balance"), Button("Оплата", "pay"))),
                Reply("Ваш телефон?", ask_phone=True),
            ]
        )


def make_settings(database_url: str, tmp_path, **overrides) -> Settings:
    values = dict(
        database_url=database_url,
        redis_url=None,
        secret_key=SECRET,
        secret_key_file=tmp_path / "secret",
        max_body_bytes=4096,
    )
    values.update(overrides)
    return Settings(**values)


def factory_with_engine(engine):
    """A container_factory: the real container, with the dialog engine replaced."""

    async def factory(settings: Settings):
        container = await build_container(settings)
        container.engine = engine
        if hasattr(engine, "store"):
            engine.store = container.store
        return container

    return factory


@contextlib.asynccontextmanager
async def running_app(settings: Settings, *, engine=None, factory=None, raise_app_exceptions: bool = True):
    """The app with its lifespan run, and an httpx client talking to it in-process.
    ``engine`` replaces the dialog engine; ``factory`` replaces the whole container factory."""
    factory = factory or (factory_with_engine(engine) if engine is not None else build_container)
    app = create_app(settings, container_factory=factory)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


@contextlib.asynccontextmanager
async def served(app, *, lifespan: str = "on"):
    """Run ``app`` on uvicorn at a free localhost port, in this event loop; yield
    "127.0.0.1:<port>". ``lifespan="off"``: the app's lifespan already runs (a fixture's)."""
    # log_config=None: uvicorn's records reach the root logger (and caplog) instead of its own handlers.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan, log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            if task.done():
                task.result()  # raises the startup error
            raise RuntimeError("uvicorn did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def bearer(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['token']}"}
