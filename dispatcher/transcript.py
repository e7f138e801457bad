"""The conversation transcript: every message, both ways, in order.

This module stores exactly what it is given. Redacting secrets (passwords, SMS
codes) is the caller's job — the dialog engine knows which turn carried one; a
generic filter here could only guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock, resolve_now, utc_now
from dispatcher.models import TranscriptMessage

DIRECTIONS = ("in", "bot", "agent")


@dataclass(frozen=True)
class TranscriptLine:
    """One message to record (see :meth:`Transcript.record_many`)."""

    direction: str  # "in" (subscriber) | "bot" | "agent"
    text: str
    channel_message_id: str | None = None
    author: str | None = None  # the agent's name for "agent"


@dataclass(frozen=True)
class TranscriptEntry:
    id: int
    conversation_key: str
    direction: str
    text: str
    channel_message_id: str | None
    author: str | None
    created_at: datetime


class Transcript:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock = utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    async def record(
        self,
        conversation_key: str,
        direction: str,
        text: str,
        *,
        channel_message_id: str | None = None,
        author: str | None = None,
        now: datetime | None = None,
    ) -> None:
        await self.record_many(
            conversation_key, [TranscriptLine(direction, text, channel_message_id, author)], now=now
        )

    async def record_many(
        self, conversation_key: str, lines: Iterable[TranscriptLine], *, now: datetime | None = None
    ) -> None:
        """Record a whole turn (the subscriber's message and the replies) at once:
        either all of it is stored or none, and in the given order."""
        now = resolve_now(now, self._clock)
        rows = [
            {
                "conversation_key": conversation_key,
                "direction": _checked(line).direction,
                "text": line.text,
                "channel_message_id": line.channel_message_id,
                "author": line.author,
                "created_at": now,
            }
            for line in lines
        ]
        if not rows:
            return
        async with self._sessions() as session, session.begin():
            # One INSERT per line rather than a multi-row VALUES: ids then follow
            # the given order on every database, and history() orders by id.
            for row in rows:
                await session.execute(insert(TranscriptMessage).values(**row))

    async def history(self, conversation_key: str, limit: int = 50) -> list[TranscriptEntry]:
        """The last ``limit`` messages of the conversation, oldest first."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(TranscriptMessage)
                    .where(TranscriptMessage.conversation_key == conversation_key)
                    .order_by(TranscriptMessage.id.desc())
                    .limit(limit)
                )
            ).all()
            entries = [
                TranscriptEntry(
                    id=row.id,
                    conversation_key=row.conversation_key,
                    direction=row.direction,
                    text=row.text,
                    channel_message_id=row.channel_message_id,
                    author=row.author,
                    created_at=row.created_at,
                )
                for row in rows
            ]
        entries.reverse()
        return entries


def _checked(line: TranscriptLine) -> TranscriptLine:
    if line.direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {line.direction!r}")
    if not isinstance(line.text, str):
        raise TypeError("transcript text must be a string")
    return line
