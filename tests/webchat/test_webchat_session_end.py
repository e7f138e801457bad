"""Ending the chat revokes its tokens (issue 10): POST /api/webchat/sessions/end, then 401
``session_ended`` for every token of that session — renewed ones, the WebSocket, other
processes sharing the StateStore — until the session's absolute expiry."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.asgi import create_app

from .helpers import EchoEngine, bearer, factory_with_engine, make_settings, running_app, served
from .test_webchat_token_expiry import Clock


async def test_ending_the_chat_refuses_its_token_afterwards(client, session):
    assert (await client.post("/api/webchat/messages", json={"text": "привет"}, headers=bearer(session))).status_code == 200

    ended = await client.post("/api/webchat/sessions/end", headers=bearer(session))
    assert ended.status_code == 204

    for response in (
        await client.post("/api/webchat/messages", json={"text": "ещё"}, headers=bearer(session)),
        await client.get("/api/webchat/history", headers=bearer(session)),
        await client.post("/api/webchat/sessions/end", headers=bearer(session)),  # ending twice: already refused
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "session_ended"
        assert response.headers["WWW-Authenticate"] == "Bearer"

    fresh = (await client.post("/api/webchat/sessions")).json()
    assert (await client.post("/api/webchat/messages", json={"text": "снова"}, headers=bearer(fresh))).status_code == 200


async def test_ending_one_chat_leaves_the_others(client, session):
    other = (await client.post("/api/webchat/sessions")).json()
    assert (await client.post("/api/webchat/sessions/end", headers=bearer(session))).status_code == 204
    assert (await client.get("/api/webchat/history", headers=bearer(other))).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer garbage"}])
async def test_ending_needs_a_valid_token(client, headers):
    response = await client.post("/api/webchat/sessions/end", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"missing_token", "invalid_token"}


async def test_a_renewed_token_of_an_ended_chat_is_refused_and_the_mark_lasts_until_the_absolute_expiry(sqlite_url, tmp_path, echo_engine):
    settings = make_settings(sqlite_url, tmp_path, webchat_token_ttl_idle_minutes=60, webchat_token_ttl_absolute_hours=10)
    async with running_app(settings, engine=echo_engine) as (app, client):
        clock = Clock()
        channel = app.state.channels["webchat"]
        channel.signer._clock = clock
        session = (await client.post("/api/webchat/sessions")).json()
        clock.advance(minutes=20)
        renewed = (await client.get("/api/webchat/history", headers=bearer(session))).headers["X-Webchat-Token"]

        assert (await client.post("/api/webchat/sessions/end", headers=bearer(session))).status_code == 204
        response = await client.get("/api/webchat/history", headers=bearer({"token": renewed}))
        assert response.status_code == 401 and response.json()["error"]["code"] == "session_ended"

        # Kept exactly as long as a token of the session could still be valid: 10 h - 20 min.
        ttl = await channel.store.ttl(f"webchat:ended:{session['session_id']}")
        assert ttl is not None and abs(ttl - (10 * 3600 - 20 * 60)) < 5


async def test_the_websocket_refuses_an_ended_chat_with_4401(sqlite_url, tmp_path):
    app = create_app(make_settings(sqlite_url, tmp_path), container_factory=factory_with_engine(EchoEngine()))
    async with served(app) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            session = (await client.post("/api/webchat/sessions")).json()
            assert (await client.post("/api/webchat/sessions/end", headers=bearer(session))).status_code == 204
        async with connect(f"ws://{address}/api/webchat/ws") as ws:
            await ws.send(json.dumps({"type": "auth", "token": session["token"]}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4401


@pytest.mark.redis
async def test_an_ended_chat_is_refused_by_every_process_sharing_redis(sqlite_url, tmp_path, redis_url, echo_engine):
    settings = make_settings(sqlite_url, tmp_path, redis_url=redis_url)
    async with running_app(settings, engine=echo_engine) as (_, first), running_app(settings, engine=echo_engine) as (_, second):
        session = (await first.post("/api/webchat/sessions")).json()
        assert (await second.get("/api/webchat/history", headers=bearer(session))).status_code == 200
        assert (await first.post("/api/webchat/sessions/end", headers=bearer(session))).status_code == 204
        response = await second.get("/api/webchat/history", headers=bearer(session))
        assert response.status_code == 401 and response.json()["error"]["code"] == "session_ended"


async def test_with_the_real_engine_an_ended_chat_gets_no_turn_and_no_stored_reply(sqlite_url, tmp_path):
    await _ended_chat_gets_no_turn(make_settings(sqlite_url, tmp_path))


@pytest.mark.redis
async def test_with_the_real_engine_on_redis_an_ended_chat_gets_no_turn_and_no_stored_reply(sqlite_url, tmp_path, redis_url):
    await _ended_chat_gets_no_turn(make_settings(sqlite_url, tmp_path, redis_url=redis_url))


async def _ended_chat_gets_no_turn(settings):
    """The ended mark is checked by the engine's gate with the turn's lock (no read of its
    own): a new message, and a retry of one answered before, are both refused."""
    async with running_app(settings) as (app, client):
        session = (await client.post("/api/webchat/sessions")).json()
        asked = {"text": "Когда работает офис в Уфе?", "client_message_id": "q1"}
        first = await client.post("/api/webchat/messages", json=asked, headers=bearer(session))
        assert first.status_code == 200 and first.json()["replies"]
        assert (await client.post("/api/webchat/sessions/end", headers=bearer(session))).status_code == 204
        for body in (asked, {"text": "ещё вопрос", "client_message_id": "q2"}, {"text": "без номера"}):
            response = await client.post("/api/webchat/messages", json=body, headers=bearer(session))
            assert response.status_code == 401 and response.json()["error"]["code"] == "session_ended"
        history = await app.state.container.transcript.history(f"webchat:{session['session_id']}")
        assert [line.direction for line in history if line.direction == "in"] == ["in"]  # only the first
