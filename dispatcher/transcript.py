"""The conversation transcript: every message, both ways, in order.

This module stores exactly what it is given. Redacting secrets (passwords, SMS
codes) is the caller's job — the dialog engine knows which turn carried one; a
generic filter here could only guess.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock, fit, resolve_now, utc_now
from dispatcher.models import TranscriptMessage

log = logging.getLogger(__name__)

DIRECTIONS = ("in", "bot", "agent", "system")  # system: console notices (an operator joined, ...)


@dataclass(frozen=True)
class TranscriptLine:
    """One message to record (see :meth:`Transcript.record_many`)."""

    direction: str  # "in" (subscriber) | "bot" | "agent" | "system"
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
        await self.write_rows([_row(conversation_key, line, now) for line in lines])

    def now(self) -> datetime:
        return self._clock()

    async def write_rows(self, rows: list[dict]) -> None:
        """Insert prepared rows (see ``_row``) in one transaction, in their order."""
        if not rows:
            return
        async with self._sessions() as session, session.begin():
            # One Core INSERT executed for many rows (executemany: the ORM's bulk path
            # costs several times more CPU), never a multi-row VALUES: ids follow the
            # given order, and history() orders by id.
            connection = await session.connection()
            await connection.execute(insert(TranscriptMessage.__table__), rows)

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


def _row(conversation_key: str, line: TranscriptLine, now: datetime) -> dict:
    _checked(line)
    return {
        "conversation_key": conversation_key,
        "direction": line.direction,
        "text": line.text,
        "channel_message_id": fit(line.channel_message_id, 100),
        "author": fit(line.author, 100),
        "created_at": now,
    }


def _checked(line: TranscriptLine) -> TranscriptLine:
    if line.direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {line.direction!r}")
    if not isinstance(line.text, str):
        raise TypeError("transcript text must be a string")
    return line


class BufferedTranscript:
    """The transcript as the dialog engine writes it: off the reply path.

    A turn's lines are queued in memory and a background task writes everything
    queued in one transaction every ``flush_seconds`` (or as soon as ``max_batch``
    lines wait). That saves a commit per turn — the largest single cost of a turn in
    the benchmark. Reads (``history``) flush first, so this process always sees its
    own lines; another process sees them within ``flush_seconds``.

    What is at stake on a crash is up to ``flush_seconds`` of transcript lines, never
    anything a subscriber was promised (callbacks and handoffs are written at once).
    If the database refuses, lines are kept and retried; past ``max_pending`` the
    oldest are dropped with an error in the log rather than exhausting memory.
    """

    def __init__(
        self,
        transcript: Transcript,
        *,
        flush_seconds: float = 0.05,
        max_batch: int = 500,
        max_pending: int = 100_000,
    ) -> None:
        self._transcript = transcript
        self._flush_seconds = flush_seconds
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._pending: list[dict] = []  # rows ready to insert, in order
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._write_lock: asyncio.Lock | None = None
        self._closed = False

    async def record_many(
        self, conversation_key: str, lines: Iterable[TranscriptLine], *, now: datetime | None = None
    ) -> None:
        if self._closed:
            await self._transcript.record_many(conversation_key, lines, now=now)
            return
        now = resolve_now(now, self._transcript.now)
        self._pending.extend(_row(conversation_key, line, now) for line in lines)
        if len(self._pending) > self._max_pending:
            dropped = len(self._pending) - self._max_pending
            del self._pending[:dropped]
            log.error("transcript: the database is not keeping up; dropped the %d oldest lines", dropped)
        self._start()
        if len(self._pending) >= self._max_batch:
            self._wake.set()

    async def record(self, conversation_key: str, direction: str, text: str, **kwargs) -> None:
        line = TranscriptLine(direction, text, kwargs.pop("channel_message_id", None), kwargs.pop("author", None))
        await self.record_many(conversation_key, [line], **kwargs)

    def now(self) -> datetime:
        return self._transcript.now()

    async def history(self, conversation_key: str, limit: int = 50) -> list[TranscriptEntry]:
        await self.flush()
        return await self._transcript.history(conversation_key, limit)

    async def flush(self) -> None:
        """Write everything queued so far (one transaction)."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                await self._transcript.write_rows(batch)
            except Exception:
                self._pending[:0] = batch  # keep order; retried on the next flush
                raise

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        try:
            await self.flush()
        except Exception:  # noqa: BLE001 - shutting down: say what is lost
            log.exception("transcript: %d lines could not be written at shutdown", len(self._pending))

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="transcript-writer")

    async def _run(self) -> None:
        backoff = self._flush_seconds
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), backoff)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
                backoff = self._flush_seconds
            except Exception:  # noqa: BLE001 - keep the lines, try again later
                log.exception("transcript: write failed; %d lines kept for a retry", len(self._pending))
                backoff = min(5.0, backoff * 2)


class LiveTranscript:
    """The transcript as wired in the app: lines of a conversation in the handoff queue
    also go to the agents' consoles live (the dialog engine stays unaware of agents).

    One StateStore lookup per recorded turn tells whether the conversation is queued
    for agents (``ConsoleEvents.open_handoff``); only then are events published and the
    queue's preview updated.
    """

    def __init__(self, inner: "BufferedTranscript | Transcript", events, handoffs) -> None:
        self._inner = inner
        self._events = events  # dispatcher.live.ConsoleEvents
        self._handoffs = handoffs  # dispatcher.handoffs.HandoffQueue

    async def record_many(
        self, conversation_key: str, lines: Iterable[TranscriptLine], *, now: datetime | None = None
    ) -> None:
        lines = list(lines)
        now = resolve_now(now, self._inner.now)
        await self._inner.record_many(conversation_key, lines, now=now)
        try:
            await self._announce(conversation_key, lines, now)
        except Exception:  # noqa: BLE001 - the transcript is stored; the live view catches up on refetch
            log.warning("transcript: could not announce lines of a queued conversation", exc_info=True)

    async def record(self, conversation_key: str, direction: str, text: str, **kwargs) -> None:
        line = TranscriptLine(direction, text, kwargs.pop("channel_message_id", None), kwargs.pop("author", None))
        await self.record_many(conversation_key, [line], **kwargs)

    async def _announce(self, conversation_key: str, lines: list[TranscriptLine], now: datetime) -> None:
        handoff = await self._events.open_handoff(conversation_key)
        if handoff is None:
            return
        at = now.isoformat()
        for line in lines:
            await self._events.line(
                handoff["id"], handoff["city"], handoff["department"],
                {"direction": line.direction, "text": line.text, "at": at, "author": line.author},
            )
        subscriber_lines = [line.text for line in lines if line.direction == "in"]
        if subscriber_lines:
            await self._handoffs.set_preview(conversation_key, subscriber_lines[-1])

    def now(self) -> datetime:
        return self._inner.now()

    async def history(self, conversation_key: str, limit: int = 50) -> list[TranscriptEntry]:
        return await self._inner.history(conversation_key, limit)

    async def flush(self) -> None:
        if hasattr(self._inner, "flush"):
            await self._inner.flush()

    async def close(self) -> None:
        if hasattr(self._inner, "close"):
            await self._inner.close()
