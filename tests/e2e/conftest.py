"""End-to-end harness: the real app (create_app + build_container), driven through
the web chat HTTP API, on SQLite + in-process state and on PostgreSQL + Redis."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import uuid

import httpx
import pytest

from app.asgi import create_app
from app.container import build_container
from app.settings import Settings
from tests.conftest import provision_database, require_redis

# Wednesday 18 November 2026, 09:00 UTC = 12:00 in Moscow, 14:00 in Ufa, 19:00 in Vladivostok.
WEDNESDAY_NOON_MOSCOW = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Chat:
    """One subscriber in the web chat."""

    client: httpx.AsyncClient
    token: str
    session_id: str
    last: list[dict] = field(default_factory=list)
    sent: int = 0

    async def _post(self, body: dict) -> list[dict]:
        self.sent += 1
        body.setdefault("client_message_id", f"m{self.sent}")
        response = await self.client.post(
            "/api/webchat/messages", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        assert response.status_code == 200, response.text
        self.last = response.json()["replies"]
        return self.last

    async def send(self, text: str) -> list[dict]:
        return await self._post({"text": text})

    async def press(self, payload: str) -> list[dict]:
        return await self._post({"payload": payload})

    async def click(self, title_part: str) -> list[dict]:
        """Press the button of the last replies whose title contains ``title_part``."""
        for reply in self.last:
            for button in reply["buttons"]:
                if title_part.lower() in button["title"].lower():
                    return await self.press(button["payload"])
        raise AssertionError(f"no button like {title_part!r} in {self.buttons()}")

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.last)

    def buttons(self) -> list[str]:
        return [b["title"] for r in self.last for b in r["buttons"]]

    async def login(self, account: str = "1000002", password: str = "demo2") -> None:
        await self.send("войти")
        await self.send(account)
        await self.send(password)
        assert "вы вошли" in self.text.lower(), self.text


@dataclass
class Stack:
    app: object
    client: httpx.AsyncClient
    clock: Clock
    kind: str

    @property
    def container(self):
        return self.app.state.container

    async def new_chat(self) -> Chat:
        response = await self.client.post("/api/webchat/sessions")
        assert response.status_code == 201, response.text
        data = response.json()
        return Chat(self.client, data["token"], data["session_id"])


@contextlib.asynccontextmanager
async def app_on_clock(settings: Settings, clock: Clock):
    """The real app with its lifespan running, its container on ``clock``, and an
    in-process client: yields (app, client)."""

    async def factory(s: Settings):
        return await build_container(s, clock=clock)

    app = create_app(settings, container_factory=factory)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


@pytest.fixture(
    params=[
        "sqlite+memory",
        pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
async def stack(request, tmp_path):
    db_kind, state_kind = request.param.split("+")
    clock = Clock(WEDNESDAY_NOON_MOSCOW)
    async with provision_database(db_kind, tmp_path) as database_url:
        redis_url = await require_redis() if state_kind == "redis" else None
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            redis_prefix=f"e2e:{uuid.uuid4().hex[:10]}:",
            secret_key="e2e-secret-that-is-long-enough-for-hmac-0123",
            secret_key_file=tmp_path / "secret",
            demo=True,
            password_hash_profile="insecure-fast",
            _env_file=None,
        )
        async with app_on_clock(settings, clock) as (app, client):
            yield Stack(app=app, client=client, clock=clock, kind=request.param)


@pytest.fixture
async def chat(stack) -> Chat:
    return await stack.new_chat()
