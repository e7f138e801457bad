"""The console WebSocket: auth, queue changes, subscriber lines of a held conversation,
viewers — filtered by what the agent may see."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.console.conftest import serve_running


async def _frames_until(ws, predicate, timeout: float = 5.0) -> list[dict]:
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            seen.append(frame)
            if predicate(frame):
                return seen


async def _auth(ws, token: str) -> None:
    await ws.send(json.dumps({"type": "auth", "token": token}))
    await ws.send(json.dumps({"type": "ping"}))
    await _frames_until(ws, lambda f: f["type"] == "pong")


async def test_unauthenticated_socket_is_closed(console):
    async with serve_running(console.app) as address:
        async with connect(f"ws://{address}/api/agent/ws") as ws:
            await ws.send(json.dumps({"type": "auth", "token": "nope"}))
            try:
                await asyncio.wait_for(ws.recv(), 5)
                raise AssertionError("the socket should close")
            except ConnectionClosed as closed:
                assert closed.rcvd.code == 4401


async def test_agent_sees_new_items_and_subscriber_lines_live(console):
    anna = await console.agent("anna", cities="Москва", departments="subscriber")
    ufa = await console.agent("ufa", cities="Уфа", departments="all")
    async with serve_running(console.app) as address:
        async with connect(f"ws://{address}/api/agent/ws") as ws, connect(f"ws://{address}/api/agent/ws") as other:
            await _auth(ws, anna.token)
            await _auth(other, ufa.token)
            chat, handoff_id = await console.queued_chat("Москва")
            await _frames_until(ws, lambda f: f["type"] == "queue")
            assert (await anna.post(f"/conversations/{handoff_id}/takeover")).status_code == 200
            await _frames_until(ws, lambda f: f == {"type": "conversation", "id": handoff_id})
            await chat.send("<img src=x onerror=alert(1)> алло?")
            frames = await _frames_until(ws, lambda f: f["type"] == "line" and f["line"]["direction"] == "in")
            line = frames[-1]
            assert line["conversation_id"] == handoff_id
            assert line["line"]["text"] == "<img src=x onerror=alert(1)> алло?" and line["line"]["author"] is None
            assert line["line"]["at"]
            await anna.post(f"/conversations/{handoff_id}/viewing")
            frames = await _frames_until(ws, lambda f: f["type"] == "viewers")
            assert frames[-1] == {"type": "viewers", "kind": "conversation", "id": handoff_id, "viewers": ["anna"]}
            # The Ufa agent heard nothing about a Moscow conversation.
            await other.send(json.dumps({"type": "ping"}))
            assert await _frames_until(other, lambda f: f["type"] == "pong") == [{"type": "pong"}]


async def test_cookie_authenticates_the_socket_from_our_own_origin(console):
    await console.add_agent("anna", password="pw")
    login = await console.client.post("/api/agent/login", json={"login": "anna", "password": "pw"})
    token = login.json()["token"]
    async with serve_running(console.app) as address:
        headers = {"Cookie": f"isp_console={token}", "Origin": f"http://{address}"}
        async with connect(f"ws://{address}/api/agent/ws", additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert await _frames_until(ws, lambda f: f["type"] == "pong") == [{"type": "ready"}, {"type": "pong"}]
        # From another site the cookie is not honoured: the first frame must authenticate.
        foreign = {"Cookie": f"isp_console={token}", "Origin": "http://evil.example"}
        async with connect(f"ws://{address}/api/agent/ws", additional_headers=foreign) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            try:
                await asyncio.wait_for(ws.recv(), 5)
                raise AssertionError("the socket should close")
            except ConnectionClosed as closed:
                assert closed.rcvd.code == 4401


async def test_a_new_callback_and_a_cancelled_one_reach_the_board_live(console):
    anna = await console.agent("anna", cities="Уфа", departments="tech")
    async with serve_running(console.app) as address:
        async with connect(f"ws://{address}/api/agent/ws") as ws:
            await _auth(ws, anna.token)
            ticket = await console.container.callbacks.request("Уфа", "tech", "+79000000099")
            await _frames_until(ws, lambda f: f == {"type": "queue"})
            assert [i["id"] for i in await anna.queue()] == [ticket.id]
            assert await console.container.callbacks.cancel(ticket.id)
            await _frames_until(ws, lambda f: f == {"type": "queue"})
            assert await anna.queue() == []


async def test_ready_is_said_once_events_are_heard_so_a_snapshot_after_it_misses_nothing(console):
    # The console loads the queue on "ready"; an event published right after it must arrive.
    anna = await console.agent("anna", cities="Уфа", departments="tech")
    async with serve_running(console.app) as address:
        for _ in range(5):
            async with connect(f"ws://{address}/api/agent/ws") as ws:
                await ws.send(json.dumps({"type": "auth", "token": anna.token}))
                assert await _frames_until(ws, lambda f: f["type"] == "ready") == [{"type": "ready"}]
                ticket = await console.container.callbacks.request("Уфа", "tech", "+79000000099")
                await _frames_until(ws, lambda f: f == {"type": "queue"})
                assert await console.container.callbacks.cancel(ticket.id)
