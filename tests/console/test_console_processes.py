"""Two server processes (uvicorn, `isp-support serve`) on one PostgreSQL + Redis: the
subscriber's web chat talks to one, the agent's console to the other, live both ways."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect

from benchmarks.http_bench import running_server
from benchmarks.infra import Backend
from tests.conftest import provision_database, require_redis
from tests.e2e.conftest import Chat

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def _until(ws, predicate, timeout: float = 10.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame


async def test_subscriber_on_one_process_and_agent_on_the_other_talk_live(tmp_path):
    async with provision_database("postgres", tmp_path) as database_url:
        backend = Backend("postgres+redis", database_url, await require_redis(), f"test:{uuid.uuid4().hex[:10]}:")
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        async with running_server(backend, tmp_path / "a") as (url_a, *_), running_server(backend, tmp_path / "b") as (url_b, *_):
            async with httpx.AsyncClient(base_url=url_a) as web, httpx.AsyncClient(base_url=url_b) as console:
                session = (await web.post("/api/webchat/sessions")).json()
                chat = Chat(web, session["token"], session["session_id"])
                await chat.send("позовите живого оператора")
                await chat.click("Москва")
                assert "Передаю разговор оператору" in chat.text

                login = (await console.post("/api/agent/login", json={"login": "demo", "password": "demo"})).json()
                headers = {"Authorization": f"Bearer {login['token']}"}
                items = (await console.get("/api/agent/queue", headers=headers)).json()["items"]
                handoff_id = next(i["id"] for i in items if i["kind"] == "conversation")

                host_a, host_b = url_a.removeprefix("http://"), url_b.removeprefix("http://")
                async with connect(f"ws://{host_b}/api/agent/ws") as agent_ws, connect(f"ws://{host_a}/api/webchat/ws") as widget:
                    await agent_ws.send(json.dumps({"type": "auth", "token": login["token"]}))
                    await agent_ws.send(json.dumps({"type": "ping"}))
                    await _until(agent_ws, lambda f: f["type"] == "pong")
                    await widget.send(json.dumps({"type": "auth", "token": chat.token}))
                    await _until(widget, lambda f: f["type"] == "ready")

                    taken = await console.post(f"/api/agent/conversations/{handoff_id}/takeover", headers=headers)
                    assert taken.status_code == 200
                    joined = await _until(widget, lambda f: f["type"] == "replies")
                    assert "подключился оператор" in joined["replies"][0]["text"]

                    assert await chat.send("алло, меня слышно?") == []  # on process A
                    line = await _until(agent_ws, lambda f: f["type"] == "line" and f["line"]["direction"] == "in")
                    assert line["conversation_id"] == handoff_id and line["line"]["text"] == "алло, меня слышно?"

                    sent = await console.post(  # on process B
                        f"/api/agent/conversations/{handoff_id}/messages", headers=headers, json={"text": "Да, слушаю вас."}
                    )
                    assert sent.json() == {"delivery": {"status": "sent", "reason": None}}
                    reply = await _until(widget, lambda f: f["type"] == "replies")
                    assert reply["replies"][0]["text"] == "Да, слушаю вас."


async def test_two_app_instances_on_one_postgres_take_over_and_claim_exactly_once(tmp_path):
    """Two apps with their own containers (own connection pools, as two processes have):
    the database alone decides who wins."""
    from app.asgi import create_app
    from tests.console.conftest import console_settings

    async with provision_database("postgres", tmp_path) as database_url:
        settings = console_settings(database_url, tmp_path, await require_redis())
        first, second = create_app(settings), create_app(settings)
        async with first.router.lifespan_context(first), second.router.lifespan_context(second):
            clients = [
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
                for app in (first, second)
            ]
            try:
                await first.state.console.service.agents.add("anna", "pw", cities="all", departments="all")
                await first.state.console.service.agents.add("boris", "pw", cities="all", departments="all")
                tokens = []
                for client, login in zip(clients, ("anna", "boris")):
                    response = await client.post("/api/agent/login", json={"login": login, "password": "pw"})
                    tokens.append({"Authorization": f"Bearer {response.json()['token']}"})
                for round_ in range(5):
                    record = await first.state.container.handoffs.enqueue(
                        f"webchat:race-{round_}", "webchat", city="Москва", department="subscriber", reason="asked"
                    )
                    await first.state.container.callbacks.request("Москва", "tech", f"+7900111000{round_}")
                    answers = await asyncio.gather(*(
                        client.post(f"/api/agent/conversations/{record.id}/takeover", headers=headers)
                        for client, headers in zip(clients, tokens)
                    ))
                    assert sorted(a.status_code for a in answers) == [200, 409]
                    claims = await asyncio.gather(*(
                        client.post("/api/agent/callbacks/next", headers=headers) for client, headers in zip(clients, tokens)
                    ))
                    assert sorted(c.status_code for c in claims) == [200, 204]
            finally:
                for client in clients:
                    await client.aclose()
