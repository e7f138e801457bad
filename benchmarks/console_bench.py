"""Agent console speed: the queue endpoint with 10,000 waiting items, and the time from
a subscriber's message to the agent's console WebSocket across two processes.

1. ``GET /api/agent/queue`` (a supervisor sees every item) against ``GET /healthz`` (a
   bare endpoint: one ``SELECT 1`` and a state-store ping) in the same run, on the real
   app under uvicorn in a subprocess.
2. Two server processes on one PostgreSQL + Redis: subscribers write in the web chat of
   process A; the agent holds their conversations on process B and listens on the
   console WebSocket of B. Latency = POST sent on A → ``line`` frame received from B.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from benchmarks.http_bench import running_server
from benchmarks.infra import Backend, Latency

TARGET_QUEUE_P99 = 0.100  # seconds
TARGET_LIVE_P99 = 1.0


@dataclass(frozen=True)
class QueueFigures:
    items: int
    requests: int
    queue: Latency
    bare: Latency
    body_bytes: int

    @property
    def target_met(self) -> bool:
        return self.queue.p99 < TARGET_QUEUE_P99


@dataclass(frozen=True)
class LiveFigures:
    messages: int
    subscribers: int
    latency: Latency
    lost: int

    @property
    def target_met(self) -> bool:
        return self.lost == 0 and self.latency.p99 < TARGET_LIVE_P99


async def _seed_queue(database_url: str, items: int) -> None:
    """``items`` open items, 70 % conversations and 30 % callbacks, over every city."""
    from sqlalchemy import insert

    from dispatcher.models import CallbackRequest, Handoff
    from reference.directory import default_directory
    from storage import make_engine

    cities = [c.name for c in default_directory().cities]
    now = datetime.now(timezone.utc)
    conversations = items * 7 // 10
    handoffs = [
        {"conversation_key": f"webchat:bench-{n}", "channel": "webchat", "city": cities[n % len(cities)],
         "department": ("subscriber", "tech")[n % 2], "reason": "asked", "status": "waiting",
         "created_at": now - timedelta(seconds=items - n), "preview": f"вопрос абонента номер {n}"}
        for n in range(conversations)
    ]
    callbacks = [
        {"city": cities[n % len(cities)], "department": ("subscriber", "tech")[n % 2], "phone": f"+7900{n:07d}",
         "status": "queued", "attempts": 0, "created_at": now - timedelta(seconds=items - n),
         "scheduled_for": now - timedelta(seconds=items - n), "topic": "не работает интернет"}
        for n in range(items - conversations)
    ]
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Handoff.__table__), handoffs)
            await connection.execute(insert(CallbackRequest.__table__), callbacks)
    finally:
        await engine.dispose()


async def _login(client: httpx.AsyncClient) -> dict:
    response = await client.post("/api/agent/login", json={"login": "demo", "password": "demo"})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _timed(client: httpx.AsyncClient, path: str, headers: dict, requests: int) -> tuple[list[float], int]:
    seconds, size = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    return seconds, size


async def queue_endpoint(backend: Backend, workdir: Path, *, items: int = 10_000, requests: int = 60) -> QueueFigures:
    workdir.mkdir(parents=True, exist_ok=True)
    async with running_server(backend, workdir) as (base_url, *_):
        await _seed_queue(backend.database_url, items)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            headers = await _login(client)
            count = (await client.get("/api/agent/queue", headers=headers)).json()["total"]
            if count != items:
                raise RuntimeError(f"the queue lists {count} items, {items} were seeded")
            await _timed(client, "/api/agent/queue", headers, 5)  # warm-up
            await _timed(client, "/healthz", headers, 5)
            # Interleaved rounds, so both see the same machine load.
            queue: list[float] = []
            bare: list[float] = []
            size = 0
            for _ in range(max(1, requests // 10)):
                q, size = await _timed(client, "/api/agent/queue", headers, 10)
                b, _ = await _timed(client, "/healthz", headers, 10)
                queue += q
                bare += b
    return QueueFigures(items, len(queue), Latency.of(queue), Latency.of(bare), size)


async def live_latency(
    backend: Backend, workdir: Path, *, subscribers: int = 10, messages_each: int = 10
) -> LiveFigures:
    from websockets.asyncio.client import connect

    (workdir / "a").mkdir(parents=True, exist_ok=True)
    (workdir / "b").mkdir(parents=True, exist_ok=True)
    async with running_server(backend, workdir / "a") as (url_a, *_), running_server(backend, workdir / "b") as (url_b, *_):
        async with httpx.AsyncClient(base_url=url_a, timeout=30) as web, httpx.AsyncClient(base_url=url_b, timeout=30) as console:
            chats = []
            for n in range(subscribers):
                session = (await web.post("/api/webchat/sessions")).json()
                chats.append({"token": session["token"], "sent": 0})
                await _say(web, chats[-1], "позовите живого оператора")
                await _say(web, chats[-1], "Москва")
            headers = await _login(console)
            # The newest conversations are ours (the queue may hold the queue benchmark's items).
            items = (await console.get("/api/agent/queue", params={"limit": 10_000}, headers=headers)).json()["items"]
            ids = sorted(i["id"] for i in items if i["kind"] == "conversation" and i["city"] == "Москва")[-subscribers:]
            if len(ids) != subscribers:
                raise RuntimeError(f"{len(ids)} conversations queued, expected {subscribers}")
            for handoff_id in ids:
                (await console.post(f"/api/agent/conversations/{handoff_id}/takeover", headers=headers)).raise_for_status()
            waiting: dict[str, float] = {}
            arrived: list[float] = []
            async with connect(f"ws://{url_b.removeprefix('http://')}/api/agent/ws") as ws:
                await ws.send(json.dumps({"type": "auth", "token": headers["Authorization"].split()[1]}))
                await ws.send(json.dumps({"type": "ping"}))
                while json.loads(await ws.recv())["type"] != "pong":
                    pass

                async def listen() -> None:
                    async for raw in ws:
                        frame = json.loads(raw)
                        if frame["type"] == "line" and frame["line"]["direction"] == "in":
                            started = waiting.pop(frame["line"]["text"], None)
                            if started is not None:
                                arrived.append(time.perf_counter() - started)

                listener = asyncio.create_task(listen())
                try:
                    for round_ in range(messages_each):
                        for index, chat in enumerate(chats):
                            text = f"сообщение {round_}-{index}"
                            waiting[text] = time.perf_counter()
                            await _say(web, chat, text)
                            await asyncio.sleep(0.02)
                    deadline = time.perf_counter() + 5
                    while waiting and time.perf_counter() < deadline:
                        await asyncio.sleep(0.05)
                finally:
                    listener.cancel()
    return LiveFigures(subscribers * messages_each, subscribers, Latency.of(arrived), len(waiting))


async def _say(client: httpx.AsyncClient, chat: dict, text: str) -> None:
    chat["sent"] += 1
    response = await client.post(
        "/api/webchat/messages", json={"text": text, "client_message_id": f"m{chat['sent']}"},
        headers={"Authorization": f"Bearer {chat['token']}"},
    )
    response.raise_for_status()


def describe_queue(f: QueueFigures) -> list[str]:
    return [
        f"  GET /api/agent/queue, {f.items:,} open items ({f.body_bytes / 1024:,.0f} KiB JSON), {f.requests} requests:",
        f"    {f.queue.ms()}",
        f"  GET /healthz (bare endpoint, same run): {f.bare.ms()}",
        f"  target p99 < {TARGET_QUEUE_P99 * 1e3:.0f} ms: {'met' if f.target_met else 'NOT met'}",
    ]


def describe_live(f: LiveFigures) -> list[str]:
    return [
        f"  subscriber message (process A) → agent console WebSocket (process B), {f.messages} messages "
        f"from {f.subscribers} subscribers:",
        f"    {f.latency.ms()}; lost {f.lost}",
        f"  target p99 < {TARGET_LIVE_P99 * 1e3:.0f} ms: {'met' if f.target_met else 'NOT met'}",
    ]
