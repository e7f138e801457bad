"""Console harness: the real app on SQLite + in-process state and on PostgreSQL +
Redis, subscribers in the web chat, agents through the console API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest

from app.settings import Settings
from tests.conftest import provision_database, require_redis
from tests.e2e.conftest import WEDNESDAY_NOON_MOSCOW, Chat, Clock, app_on_clock
from tests.webchat.helpers import served


def console_settings(database_url: str, tmp_path, redis_url: str | None = None, **overrides) -> Settings:
    values = dict(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"console:{uuid.uuid4().hex[:10]}:",
        secret_key="console-secret-that-is-long-enough-for-hmac-01",
        secret_key_file=tmp_path / "secret",
        demo=True,
        password_hash_profile="insecure-fast",
        console_sweep_seconds=0,  # tests sweep explicitly
        _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class AgentClient:
    """One logged-in agent (Bearer token)."""

    client: httpx.AsyncClient
    login: str
    token: str
    csrf: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kw) -> httpx.Response:
        return await self.client.get(f"/api/agent{path}", headers=self.headers, **kw)

    async def post(self, path: str, json: dict | None = None) -> httpx.Response:
        return await self.client.post(f"/api/agent{path}", headers=self.headers, json=json)

    async def queue(self) -> list[dict]:
        response = await self.get("/queue")
        assert response.status_code == 200, response.text
        return response.json()["items"]


@dataclass
class ConsoleStack:
    app: object
    client: httpx.AsyncClient
    clock: Clock
    kind: str

    @property
    def container(self):
        return self.app.state.container

    @property
    def service(self):
        return self.app.state.console.service

    async def new_chat(self) -> Chat:
        response = await self.client.post("/api/webchat/sessions")
        assert response.status_code == 201, response.text
        data = response.json()
        return Chat(self.client, data["token"], data["session_id"])

    async def add_agent(self, login: str, *, cities: str = "all", departments: str = "all", supervisor: bool = False,
                        password: str = "secret-pass") -> None:
        await self.container.console.service.agents.add(
            login, password, cities=cities, departments=departments, supervisor=supervisor
        )

    async def agent(self, login: str, password: str = "secret-pass", **scope) -> AgentClient:
        if await self.service.agents.get(login) is None:
            await self.add_agent(login, password=password, **scope)
        response = await self.client.post("/api/agent/login", json={"login": login, "password": password})
        assert response.status_code == 200, response.text
        body = response.json()
        self.client.cookies.clear()  # Bearer only, unless a test wants the cookie
        return AgentClient(self.client, login, body["token"], body["csrf_token"])

    async def queued_chat(self, city: str = "Москва") -> tuple[Chat, int]:
        """A web chat subscriber waiting for an operator in ``city``; returns the handoff id."""
        chat = await self.new_chat()
        await chat.send("позовите живого оператора")
        await chat.click(city)
        assert "Передаю разговор оператору" in chat.text, chat.text
        record = await self.container.handoffs.current(f"webchat:{chat.session_id}")
        return chat, record.id

    async def mailbox(self, chat: Chat) -> list[str]:
        """What the subscriber's widget received outside the HTTP replies (agents' messages)."""
        channel = self.app.state.channels["webchat"]
        events = await channel.mailbox.after(chat.session_id, None)
        return [reply["text"] for event in events for reply in event.to_dict()["replies"]]


@pytest.fixture(
    params=["sqlite+memory", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
async def console(request, tmp_path):
    db_kind, state_kind = request.param.split("+")
    clock = Clock(WEDNESDAY_NOON_MOSCOW)
    async with provision_database(db_kind, tmp_path) as database_url:
        redis_url = await require_redis() if state_kind == "redis" else None
        settings = console_settings(database_url, tmp_path, redis_url, **getattr(request, "param_overrides", {}))
        async with app_on_clock(settings, clock) as (app, client):
            yield ConsoleStack(app=app, client=client, clock=clock, kind=request.param)


def serve_running(app):
    """Serve an app whose lifespan already runs (the fixture's) on uvicorn, in this
    event loop, for WebSocket clients; yields "127.0.0.1:<port>"."""
    return served(app, lifespan="off")
