"""Messages pushed to a web chat session outside a request/response turn.

Agent messages and asynchronous bot messages reach the widget through its WebSocket.
``WebchatSender`` (the channel's :class:`dialogs.delivery.Sender`) keeps each
pushed event in a short mailbox in the StateStore and publishes it on the topic
``webchat:<session_id>``. A WebSocket subscribes to that topic (so it works across
processes with Redis) and first replays what the mailbox holds after the last event
the widget saw: an agent's answer written while the widget was reconnecting is not
lost.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from dialogs.delivery import DeliveryResult
from dialogs.messages import Reply
from dialogs.state.base import StateStore

CHANNEL = "webchat"
MAILBOX_SIZE = 50  # events kept per session for a reconnecting widget
MAILBOX_TTL = 24 * 3600.0  # seconds an idle session's mailbox is kept


def topic_for(session_id: str) -> str:
    return f"{CHANNEL}:{session_id}"


def _mailbox_key(session_id: str) -> str:
    return f"{CHANNEL}:mailbox:{session_id}"


@dataclass(frozen=True)
class PushedEvent:
    id: str
    at: str  # ISO 8601, UTC
    replies: tuple[Reply, ...]

    def to_dict(self) -> dict:
        return {"type": "replies", "id": self.id, "at": self.at, "replies": [r.to_dict() for r in self.replies]}

    @classmethod
    def from_dict(cls, data: dict) -> "PushedEvent":
        return cls(id=data["id"], at=data["at"], replies=tuple(Reply.from_dict(r) for r in data["replies"]))


class Mailbox:
    """The last ``size`` events pushed to each session, as JSON in the StateStore."""

    def __init__(self, store: StateStore, *, size: int = MAILBOX_SIZE, ttl: float = MAILBOX_TTL) -> None:
        self._store = store
        self._size = size
        self._ttl = ttl

    async def append(self, session_id: str, event: PushedEvent) -> None:
        key = _mailbox_key(session_id)
        # Read-modify-write: serialize writers of one session (agent and bot may push at once).
        async with self._store.lock(key, timeout=10, wait=10):
            events = await self._load(key)
            events.append(event.to_dict())
            await self._store.set(key, json.dumps(events[-self._size :], ensure_ascii=False), ttl=self._ttl)

    async def after(self, session_id: str, last_seen_id: str | None) -> list[PushedEvent]:
        """Events newer than ``last_seen_id``; all kept events if that id is unknown."""
        events = await self._load(_mailbox_key(session_id))
        if last_seen_id:
            ids = [e.get("id") for e in events]
            if last_seen_id in ids:
                events = events[ids.index(last_seen_id) + 1 :]
        return [PushedEvent.from_dict(e) for e in events]

    async def _load(self, key: str) -> list[dict]:
        raw = await self._store.get(key)
        if not raw:
            return []
        try:
            events = json.loads(raw)
        except ValueError:
            return []
        return events if isinstance(events, list) else []


class WebchatSender:
    """``dialogs.delivery.Sender`` for the web chat."""

    channel = CHANNEL

    def __init__(self, store: StateStore, mailbox: Mailbox | None = None) -> None:
        self._store = store
        self._mailbox = mailbox or Mailbox(store)

    async def send(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        # The Sender contract: a DeliveryResult (the outbox and the console read it).
        if not replies:
            return DeliveryResult.ok()
        event = PushedEvent(
            id=uuid.uuid4().hex,
            at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            replies=tuple(replies),
        )
        await self._mailbox.append(user_id, event)
        await self._store.publish(topic_for(user_id), json.dumps(event.to_dict(), ensure_ascii=False))
        return DeliveryResult.ok(event.id)
