"""Live messages over the WebSocket, on a real uvicorn port, with each state backend."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import urlencode

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.asgi import create_app
from bots.webchat.live import MAILBOX_SIZE
from dialogs.messages import Button, Reply

from .helpers import EchoEngine, factory_with_engine, make_settings, served


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def state_redis_url(request):
    """None for the in-process store, else the test Redis."""
    return None if request.param == "memory" else request.getfixturevalue("redis_url")


@contextlib.asynccontextmanager
async def live_app(sqlite_url, tmp_path, redis_url):
    app = create_app(
        make_settings(sqlite_url, tmp_path, redis_url=redis_url), container_factory=factory_with_engine(EchoEngine())
    )
    async with served(app) as address:
        yield app, address


async def new_session(address: str) -> dict:
    async with httpx.AsyncClient(base_url=f"http://{address}") as client:
        response = await client.post("/api/webchat/sessions")
    assert response.status_code == 201
    return response.json()


async def next_frame(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@contextlib.asynccontextmanager
async def subscribed(address: str, token: str, after: str | None = None, *, token_in_url: bool = False):
    """A WebSocket that has seen "ready" (subscribed, mailbox replayed); yields (ws, replayed).
    The token goes in the first frame (as the widget does it), or in the URL."""
    query = {"after": after} if after else {}
    if token_in_url:
        query["token"] = token
    url = f"ws://{address}/api/webchat/ws" + (f"?{urlencode(query)}" if query else "")
    async with connect(url) as ws:
        if not token_in_url:
            await ws.send(json.dumps({"type": "auth", "token": token}))
        replayed = []
        while (frame := await next_frame(ws))["type"] != "ready":
            replayed.append(frame)
        yield ws, replayed


async def test_pushed_replies_reach_the_subscriber(sqlite_url, tmp_path, state_redis_url):
    async with live_app(sqlite_url, tmp_path, state_redis_url) as (app, address):
        session = await new_session(address)
        delivery = app.state.container.delivery
        async with subscribed(address, session["token"]) as (ws, replayed):
            assert replayed == []
            reply = Reply("Здравствуйте, это оператор Анна.", buttons=(Button("Спасибо", "thanks_bye"),))
            await delivery.send(f"webchat:{session['session_id']}", [reply])
            frame = await next_frame(ws)
            assert frame["type"] == "replies" and frame["id"]
            assert frame["replies"] == [reply.to_dict()]
            await delivery.send(f"webchat:{session['session_id']}", [Reply("Второе"), Reply("Третье")])
            assert [r["text"] for r in (await next_frame(ws))["replies"]] == ["Второе", "Третье"]


async def test_one_session_does_not_see_anothers_messages(sqlite_url, tmp_path, state_redis_url):
    async with live_app(sqlite_url, tmp_path, state_redis_url) as (app, address):
        alice, bob = await new_session(address), await new_session(address)
        delivery = app.state.container.delivery
        async with subscribed(address, alice["token"]) as (alice_ws, _), subscribed(address, bob["token"]) as (bob_ws, _):
            await delivery.send(f"webchat:{alice['session_id']}", [Reply("для Алисы")])
            await delivery.send(f"webchat:{bob['session_id']}", [Reply("для Боба")])
            assert (await next_frame(bob_ws))["replies"][0]["text"] == "для Боба"
            assert (await next_frame(alice_ws))["replies"][0]["text"] == "для Алисы"


async def test_messages_sent_while_away_are_replayed_after_the_last_seen(sqlite_url, tmp_path, state_redis_url):
    async with live_app(sqlite_url, tmp_path, state_redis_url) as (app, address):
        session = await new_session(address)
        key = f"webchat:{session['session_id']}"
        delivery = app.state.container.delivery
        await delivery.send(key, [Reply("первое")])
        await delivery.send(key, [Reply("второе")])
        async with subscribed(address, session["token"]) as (_, replayed):
            assert [f["replies"][0]["text"] for f in replayed] == ["первое", "второе"]
        first_id = replayed[0]["id"]
        async with subscribed(address, session["token"], after=first_id) as (ws, replayed_after):
            assert [f["replies"][0]["text"] for f in replayed_after] == ["второе"]
            await delivery.send(key, [Reply("третье")])  # live, and only once
            assert (await next_frame(ws))["replies"][0]["text"] == "третье"
        async with subscribed(address, session["token"], after=replayed_after[0]["id"]) as (_, nothing_new):
            assert [f["replies"][0]["text"] for f in nothing_new] == ["третье"]


async def test_mailbox_keeps_only_the_last_events(sqlite_url, tmp_path):
    async with live_app(sqlite_url, tmp_path, None) as (app, address):
        session = await new_session(address)
        for i in range(MAILBOX_SIZE + 5):
            await app.state.container.delivery.send(f"webchat:{session['session_id']}", [Reply(str(i))])
        async with subscribed(address, session["token"]) as (_, replayed):
            texts = [f["replies"][0]["text"] for f in replayed]
    assert texts == [str(i) for i in range(5, MAILBOX_SIZE + 5)]


async def test_token_in_the_url_works_too(sqlite_url, tmp_path):
    async with live_app(sqlite_url, tmp_path, None) as (app, address):
        session = await new_session(address)
        async with subscribed(address, session["token"], token_in_url=True) as (ws, _):
            await app.state.container.delivery.send(f"webchat:{session['session_id']}", [Reply("привет")])
            assert (await next_frame(ws))["replies"][0]["text"] == "привет"


@pytest.mark.parametrize("query", ["?token=", "?token=garbage", "?token=0123456789abcdef0123456789abcdef.AAAA"])
async def test_bad_token_in_the_url_closes_with_4401(sqlite_url, tmp_path, query):
    async with live_app(sqlite_url, tmp_path, None) as (_, address):
        async with connect(f"ws://{address}/api/webchat/ws{query}") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4401


@pytest.mark.parametrize(
    "first_frame",
    [
        '{"type": "auth", "token": "garbage"}',
        '{"type": "auth", "token": "0123456789abcdef0123456789abcdef.AAAA"}',
        '{"type": "auth"}',
        '{"type": "ping"}',
        "not json",
        "x" * 5000,
    ],
)
async def test_bad_auth_frame_closes_with_4401(sqlite_url, tmp_path, first_frame):
    async with live_app(sqlite_url, tmp_path, None) as (_, address):
        async with connect(f"ws://{address}/api/webchat/ws") as ws:
            await ws.send(first_frame)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4401


async def test_silent_client_is_closed_after_the_auth_timeout(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setattr("bots.webchat.routes.AUTH_TIMEOUT", 0.2)
    async with live_app(sqlite_url, tmp_path, None) as (_, address):
        async with connect(f"ws://{address}/api/webchat/ws") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4401


async def test_ping_gets_pong(sqlite_url, tmp_path):
    async with live_app(sqlite_url, tmp_path, None) as (_, address):
        session = await new_session(address)
        async with subscribed(address, session["token"]) as (ws, _):
            await ws.send('{"type": "ping"}')
            assert await next_frame(ws) == {"type": "pong"}
            await ws.send("not json at all")  # ignored, the socket stays open
            await ws.send('{"type": "ping"}')
            assert await next_frame(ws) == {"type": "pong"}


async def test_oversize_client_frame_closes_the_socket(sqlite_url, tmp_path):
    async with live_app(sqlite_url, tmp_path, None) as (_, address):
        session = await new_session(address)
        async with subscribed(address, session["token"]) as (ws, _):
            await ws.send("x" * 5000)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 1009


@pytest.mark.redis
async def test_message_from_another_process_arrives_through_redis(sqlite_url, tmp_path, redis_url):
    """Two app instances sharing Redis: an agent's message handed to one instance's
    delivery reaches the widget connected to the other."""
    async with live_app(sqlite_url, tmp_path, redis_url) as (sender_app, _):
        async with live_app(sqlite_url, tmp_path, redis_url) as (_, address):
            session = await new_session(address)
            async with subscribed(address, session["token"]) as (ws, _):
                await sender_app.state.container.delivery.send(f"webchat:{session['session_id']}", [Reply("через Redis")])
                assert (await next_frame(ws))["replies"][0]["text"] == "через Redis"


async def test_clients_leaving_at_any_moment_cause_no_errors(sqlite_url, tmp_path, caplog):
    async with live_app(sqlite_url, tmp_path, None) as (_, address):
        session = await new_session(address)
        async with connect(f"ws://{address}/api/webchat/ws"):
            pass  # gone before authenticating
        async with connect(f"ws://{address}/api/webchat/ws") as ws:
            await ws.send(json.dumps({"type": "auth", "token": session["token"]}))
        async with subscribed(address, session["token"]):
            pass  # gone while subscribed
        await asyncio.sleep(0.2)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_oversize_chunked_body_is_413_on_a_real_server(sqlite_url, tmp_path):
    async def chunks():
        for _ in range(20):
            yield b"x" * 1000  # limit in these tests: 4096 bytes

    async with live_app(sqlite_url, tmp_path, None) as (_, address):
        session = await new_session(address)
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            response = await client.post(
                "/api/webchat/messages",
                content=chunks(),
                headers={"Authorization": f"Bearer {session['token']}", "Content-Type": "application/json"},
            )
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "body_too_large"
            # the server is fine afterwards
            assert (await client.get("/healthz")).status_code == 200
