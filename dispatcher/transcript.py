"""The conversation transcript: every message, both ways, in order.

This module stores exactly what it is given. Redacting secrets (passwords, SMS
codes) is the caller's job — the dialog engine knows which turn carried one; a
generic filter here could only guess.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock, fit, resolve_now, utc_now
from dispatcher.models import TranscriptMessage
from storage import engine_of
from storage.sqlite_appender import SqliteAppender, sqlite_file_url
from storage.tasks import stop_task, wait_or_timeout

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
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock = utc_now,
        appender: SqliteAppender | None = None,
    ) -> None:
        """``appender``: on a SQLite file database, writes go through it (one thread
        hop a batch instead of about 16; storage/sqlite_appender.py)."""
        self._sessions = sessions
        self._clock = clock
        self._appender = appender

    @classmethod
    def for_database(cls, sessions: async_sessionmaker[AsyncSession], url: str, *, clock: Clock = utc_now) -> "Transcript":
        """The transcript as the app wires it: on a SQLite file its batches skip
        aiosqlite's per-call thread hops (``SqliteAppender``); ``close`` closes that."""
        return cls(sessions, clock=clock, appender=SqliteAppender(url) if sqlite_file_url(url) else None)

    async def close(self) -> None:
        """Close the appender; a line recorded after this (a turn finishing during
        shutdown) goes through the async engine instead."""
        appender, self._appender = self._appender, None
        if appender is not None:
            await appender.aclose()

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
        self,
        conversation_key: str,
        lines: Iterable[TranscriptLine],
        *,
        now: datetime | None = None,
        turn: str | None = None,
        queued: bool | None = None,  # noqa: ARG002 - for LiveTranscript; nothing to announce here
    ) -> None:
        """Record a whole turn (the subscriber's message and the replies) at once:
        either all of it is stored or none, and in the given order.

        ``turn``: the channel message id the engine turn answered. Lines recorded again
        for the same turn (the turn was processed again after its process died between
        writing the lines and marking the message handled) replace the earlier ones: the
        transcript keeps what the subscriber was last answered, once."""
        now = resolve_now(now, self._clock)
        key = turn_key(conversation_key, turn)
        await self.write_rows([_row(conversation_key, line, now, key) for line in lines])

    def now(self) -> datetime:
        return self._clock()

    async def write_rows(self, rows: list[dict]) -> None:
        """Insert prepared rows (see ``_row``) in one transaction, in their order."""
        if not rows:
            return
        if self._appender is not None:
            await self._appender.transaction(lambda connection: _insert_rows(connection, rows))
            return
        async with engine_of(self._sessions).begin() as connection:
            await connection.run_sync(_insert_rows, rows)

    async def _write_isolating(self, rows: list[dict], set_aside: "deque[dict]") -> None:
        """Write ``rows`` in order; a row the database refuses (its data, not its
        availability) is logged without its text and put in ``set_aside``, and every
        other row is written. The batch is split in halves until the refused rows are
        found: one bad row costs about log2(batch) extra statements, not one per row.
        An outage (connection lost, timeout) raises: nothing is set aside then."""
        if not rows:
            return
        try:
            await self.write_rows(rows)
        except Exception as error:
            if not _refused_by_database(error):
                raise
            if len(rows) == 1:
                _log_refused(rows[0], error)
                set_aside.append(rows[0])
                return
            middle = len(rows) // 2
            await self._write_isolating(rows[:middle], set_aside)
            await self._write_isolating(rows[middle:], set_aside)

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


def _insert_rows(connection: Connection, rows: list[dict]) -> None:
    """One transaction's statements (synchronous Core: run by the appender's thread, or
    by ``run_sync`` on the async engine)."""
    table = TranscriptMessage.__table__
    turns = list(dict.fromkeys(row["turn_key"] for row in rows if row.get("turn_key")))
    if turns:
        # A retried turn: its earlier attempt's lines go (same transaction).
        connection.execute(delete(table).where(table.c.turn_key.in_(turns)))
    # One Core INSERT executed for many rows (executemany: the ORM's bulk path costs
    # several times more CPU), never a multi-row VALUES: ids follow the given order,
    # and history() orders by id.
    connection.execute(insert(table), rows)


def turn_key(conversation_key: str, turn: str | None) -> str | None:
    """The stored key of an engine turn: a digest, so any length of channel message id
    fits, and one conversation's ids never meet another's."""
    if not turn:
        return None
    return hashlib.blake2b(f"{conversation_key}\0{turn}".encode("utf-8"), digest_size=16).hexdigest()


def _row(conversation_key: str, line: TranscriptLine, now: datetime, turn: str | None = None) -> dict:
    _checked(line)
    return {
        "conversation_key": conversation_key,
        "direction": line.direction,
        "text": line.text,
        "channel_message_id": fit(line.channel_message_id, 100),
        "author": fit(line.author, 100),
        "created_at": now,
        "turn_key": turn,
    }


_DATA_SQLSTATE_CLASSES = ("22", "23")  # data exception, integrity constraint violation


def _refused_by_database(error: BaseException) -> bool:
    """True when the database (or its driver) refused the data itself — it will refuse
    the same row on every retry — rather than being unavailable."""
    if isinstance(error, (DataError, IntegrityError, UnicodeError)):
        return True
    if isinstance(error, StatementError):
        original = error.orig
        for candidate in (original, getattr(original, "__cause__", None)):
            sqlstate = getattr(candidate, "sqlstate", None)
            if isinstance(sqlstate, str) and sqlstate[:2] in _DATA_SQLSTATE_CLASSES:
                return True
        return isinstance(original, (UnicodeError, ValueError, TypeError))
    return False


def _log_refused(row: dict, error: BaseException) -> None:
    # Never the text: it may be anything a subscriber typed.
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    log.error(
        "transcript: the database refused a %s line of %s (%d characters, %s%s); set aside, the rest is written",
        row.get("direction"),
        row.get("conversation_key"),
        len(row.get("text") or ""),
        type(error).__name__,
        f", SQLSTATE {sqlstate}" if sqlstate else "",
    )


def _checked(line: TranscriptLine) -> TranscriptLine:
    if line.direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {line.direction!r}")
    if not isinstance(line.text, str):
        raise TypeError("transcript text must be a string")
    return line


class BufferedTranscript:
    """The transcript as the dialog engine writes it: group commit.

    A turn's lines are queued in memory, and one background writer inserts
    everything queued in one transaction. With ``wait_for_write`` (the default)
    ``record_many`` returns only once its lines are committed, so the lines of every
    answered turn survive a crash of the process (SIGKILL included): the engine
    records a turn before it returns the replies. Turns arriving while a write is
    under way share the next one, so under load there is still about one commit per
    batch, not per turn; the price is one commit's latency per turn
    (see README, Durability).

    Without ``wait_for_write`` the lines are written off the reply path every
    ``flush_seconds`` (or as soon as ``max_batch`` wait), and a crash loses what
    was queued. Reads (``history``) flush first, so this process always sees its own
    lines.

    A row the database refuses is set aside (``set_aside``), the rest of its batch is
    written. If the database is unavailable, lines are kept and retried with a
    backoff, and turns do not wait for it meanwhile (a reply matters more); past
    ``max_pending`` the oldest are dropped with an error in the log rather than
    exhausting memory.
    """

    def __init__(
        self,
        transcript: Transcript,
        *,
        flush_seconds: float = 0.05,
        max_batch: int = 500,
        max_pending: int = 100_000,
        wait_for_write: bool = True,
        max_wait_seconds: float = 5.0,
    ) -> None:
        self._transcript = transcript
        self._flush_seconds = flush_seconds
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._wait_for_write = wait_for_write
        self._max_wait_seconds = max_wait_seconds
        self._pending: list[dict] = []  # rows ready to insert, in order
        # The turn keys among them (a superset: rows dropped past ``max_pending`` stay
        # counted), so a turn recorded again is found without scanning every row.
        self._pending_turns: set[str] = set()
        self._waiters: list[asyncio.Future] = []  # turns waiting for the rows queued so far
        self._failing = False  # the last write failed: turns don't wait until one succeeds
        # The write under way has taken longer than ``max_wait_seconds``: its turns and
        # the ones queued behind it were released; new ones don't wait until it ends.
        self._late = False
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._write_lock: asyncio.Lock | None = None
        self._closed = False
        # Rows the database refused (see Transcript._write_isolating): kept for an
        # operator to inspect, bounded, never retried — retrying one forever once
        # stopped every later line of every conversation.
        self.set_aside: deque[dict] = deque(maxlen=1000)

    async def record_many(
        self,
        conversation_key: str,
        lines: Iterable[TranscriptLine],
        *,
        now: datetime | None = None,
        turn: str | None = None,
        queued: bool | None = None,  # noqa: ARG002 - for LiveTranscript; nothing to announce here
    ) -> None:
        if self._closed:
            await self._transcript.record_many(conversation_key, lines, now=now, turn=turn)
            return
        now = resolve_now(now, self._transcript.now)
        key = turn_key(conversation_key, turn)
        if key is not None:
            if key in self._pending_turns:
                # The same turn again before its first attempt was written: one attempt's lines.
                self._pending = [row for row in self._pending if row["turn_key"] != key]
            self._pending_turns.add(key)
        self._pending.extend(_row(conversation_key, line, now, key) for line in lines)
        if len(self._pending) > self._max_pending:
            dropped = len(self._pending) - self._max_pending
            del self._pending[:dropped]
            log.error("transcript: the database is not keeping up; dropped the %d oldest lines", dropped)
        self._start()
        if not self._wait_for_write or self._failing or self._late:
            if len(self._pending) >= self._max_batch:
                self._wake.set()
            return
        written = asyncio.get_running_loop().create_future()
        self._waiters.append(written)
        self._wake.set()
        # Each turn waits on its own future: a cancelled request cancels only that
        # future, never the batch's write (``_release`` skips it). The bound on the
        # wait is one timer per batch (``flush``), not one per turn.
        await written

    async def record(self, conversation_key: str, direction: str, text: str, **kwargs) -> None:
        line = TranscriptLine(direction, text, kwargs.pop("channel_message_id", None), kwargs.pop("author", None))
        await self.record_many(conversation_key, [line], **kwargs)

    def now(self) -> datetime:
        return self._transcript.now()

    async def history(self, conversation_key: str, limit: int = 50) -> list[TranscriptEntry]:
        try:
            await self.flush()
        except Exception:  # noqa: BLE001 - the lines stay queued; show what is stored
            log.exception("transcript: write failed before a history read; %d lines kept for a retry", len(self._pending))
        return await self._transcript.history(conversation_key, limit)

    async def flush(self) -> None:
        """Write everything queued so far (one transaction)."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            batch, self._pending, self._pending_turns = self._pending, [], set()
            waiters, self._waiters = self._waiters, []
            # The wait bound, armed only when turns wait (the idle writer flushes every
            # ``flush_seconds`` with nobody waiting).
            late = (
                asyncio.get_running_loop().call_later(self._max_wait_seconds, self._write_is_late, waiters)
                if waiters
                else None
            )
            try:
                if batch:
                    await self._transcript._write_isolating(batch, self.set_aside)
            except Exception:
                self._pending[:0] = batch  # keep order; retried on the next flush
                self._pending_turns.update(row["turn_key"] for row in batch if row["turn_key"])
                self._failing = True
                _release(waiters)  # the turns go on; their lines wait for the retry
                raise
            finally:
                if late is not None:
                    late.cancel()
                self._late = False
            self._failing = False
            _release(waiters)

    def _write_is_late(self, waiters: list[asyncio.Future]) -> None:
        """A write stalled (a hung database, a lock held elsewhere): the turns waiting
        for it, and for the next one, go on; a reply matters more. Their lines stay
        queued and are written when the database answers."""
        log.warning("transcript: not written within %.1f s; the lines stay queued", self._max_wait_seconds)
        self._late = True
        _release(waiters)
        queued, self._waiters = self._waiters, []
        _release(queued)

    async def close(self) -> None:
        self._closed = True
        await stop_task(self._task)
        try:
            await self.flush()
        except Exception:  # noqa: BLE001 - shutting down: say what is lost
            log.exception("transcript: %d lines could not be written at shutdown", len(self._pending))
        await self._transcript.close()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="transcript-writer")

    async def _run(self) -> None:
        backoff = self._flush_seconds
        while True:
            if self._failing:
                await asyncio.sleep(backoff)  # a database outage: retry on the backoff only
            else:
                await wait_or_timeout(self._wake, backoff)
            self._wake.clear()
            try:
                await self.flush()
                backoff = self._flush_seconds
            except Exception:  # noqa: BLE001 - keep the lines, try again later
                log.exception("transcript: write failed; %d lines kept for a retry", len(self._pending))
                backoff = min(5.0, backoff * 2)


def _release(waiters: list[asyncio.Future]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
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
        self,
        conversation_key: str,
        lines: Iterable[TranscriptLine],
        *,
        now: datetime | None = None,
        turn: str | None = None,
        queued: bool | None = None,
    ) -> None:
        """``queued``: the caller's knowledge of whether the conversation is in the
        handoff queue (the engine's turn knows it); False skips the lookup — one
        StateStore round trip a turn for the conversations no agent sees. None: look."""
        lines = list(lines)
        now = resolve_now(now, self._inner.now)
        await self._inner.record_many(conversation_key, lines, now=now, turn=turn)
        if queued is False:
            return
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
