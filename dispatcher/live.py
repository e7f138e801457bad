"""Live console events across processes.

Every event goes through the StateStore's ``publish`` on one topic (Redis pub/sub
when configured); each process holds ONE subscription (:class:`EventHub`) and fans
events out to its own console WebSockets, each filtered by what that agent may see.

Events carry their queue (city, department) beside the frame the browser gets, so
the hub can filter without a database read. Which conversations are in the handoff
queue is also kept in the StateStore (``console:handoff:<conversation key>``), so the
transcript can tell in one lookup whether a recorded line must reach an agent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Callable

from dialogs.state.base import StateStore
from storage.tasks import wait_or_timeout

log = logging.getLogger(__name__)

TOPIC = "console:events"
VIEWING_SECONDS = 30.0
_MARKER_TTL = 7 * 24 * 3600.0  # a forgotten marker only costs a lookup; it cannot hide a line
_LOCAL_QUEUE = 1000


def _marker_key(conversation_key: str) -> str:
    return f"console:handoff:{conversation_key}"


@dataclass(frozen=True)
class Scope:
    city: str | None
    department: str | None  # None: every agent (e.g. a presence change)


class ConsoleEvents:
    """Publishing side (any process): what changed, for whom."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def publish(self, frame: dict, scope: Scope) -> None:
        envelope = {"city": scope.city, "department": scope.department, "frame": frame}
        try:
            await self._store.publish(TOPIC, json.dumps(envelope, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - live events are best-effort; the data is in SQL
            log.warning("console: could not publish a live event", exc_info=True)

    async def queue_changed(self, city: str | None, department: str) -> None:
        await self.publish({"type": "queue"}, Scope(city, department))

    async def anything_changed(self) -> None:
        """Every console refetches its queue (e.g. agents' presence changed)."""
        await self.publish({"type": "queue"}, Scope(None, None))

    async def conversation_changed(self, handoff_id: int, city: str | None, department: str) -> None:
        await self.publish({"type": "conversation", "id": handoff_id}, Scope(city, department))
        await self.queue_changed(city, department)

    async def line(self, handoff_id: int, city: str | None, department: str, line: dict) -> None:
        await self.publish({"type": "line", "conversation_id": handoff_id, "line": line}, Scope(city, department))

    async def viewing(self, kind: str, item_id: int, login: str, city: str | None, department: str) -> None:
        frame = {"type": "viewing", "kind": kind, "id": item_id, "login": login, "until": time.time() + VIEWING_SECONDS}
        await self.publish(frame, Scope(city, department))

    # -- which conversations are in the handoff queue -----------------------------------------
    async def mark_open(self, conversation_key: str, handoff_id: int, city: str | None, department: str) -> None:
        value = json.dumps({"id": handoff_id, "city": city, "department": department}, ensure_ascii=False)
        try:
            await self._store.set(_marker_key(conversation_key), value, ttl=_MARKER_TTL)
        except Exception:  # noqa: BLE001 - the handoff is in SQL; only its live lines are lost
            log.warning("console: could not mark a queued conversation", exc_info=True)

    async def mark_closed(self, conversation_key: str) -> None:
        try:
            await self._store.delete(_marker_key(conversation_key))
        except Exception:  # noqa: BLE001 - a stale marker costs a lookup, nothing more
            log.warning("console: could not unmark a conversation", exc_info=True)

    async def open_handoff(self, conversation_key: str) -> dict | None:
        raw = await self._store.get(_marker_key(conversation_key))
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None


Listener = Callable[[dict, Scope], None]


class EventHub:
    """The process's one subscription; local listeners get every event with its scope.

    It also keeps "who is viewing" from the ``viewing`` events of every process, so
    the queue endpoint answers without a lookup per item.
    """

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._listeners: set[Listener] = set()
        self._viewers: dict[tuple[str, int], dict[str, float]] = {}
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="console-events")
            await wait_or_timeout(self._ready, 5)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def add(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def remove(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def viewers(self, kind: str, item_id: int) -> list[str]:
        seen = self._viewers.get((kind, item_id))
        if not seen:
            return []
        now = time.time()
        return sorted(login for login, until in seen.items() if until > now)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                async with self._store.subscribe(TOPIC) as messages:
                    self._ready.set()
                    delay = 0.1
                    async for raw in messages:
                        self._dispatch(raw)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - resubscribe: the console must come back by itself
                log.warning("console: event subscription failed; retrying", exc_info=True)
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)

    def _dispatch(self, raw: str) -> None:
        try:
            envelope = json.loads(raw)
            frame = envelope["frame"]
            scope = Scope(envelope.get("city"), envelope.get("department"))
        except (ValueError, KeyError, TypeError):
            return
        if frame.get("type") == "viewing":
            key = (str(frame["kind"]), int(frame["id"]))
            seen = self._viewers.setdefault(key, {})
            seen[str(frame["login"])] = float(frame["until"])
            now = time.time()
            for login in [login for login, until in seen.items() if until <= now]:
                del seen[login]
            frame = {"type": "viewers", "kind": key[0], "id": key[1], "viewers": self.viewers(*key)}
        for listener in list(self._listeners):
            try:
                listener(frame, scope)
            except Exception:  # noqa: BLE001 - one broken socket must not stop the others
                log.exception("console: a live listener failed")
