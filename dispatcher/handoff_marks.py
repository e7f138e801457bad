"""Which conversations were ever queued for agents, kept in the StateStore so the
dialog engine need not ask the database about every new conversation.

Only a queued conversation can be held by an agent (``HandoffQueue.enqueue`` is the
one way into the queue), so a conversation without a mark cannot be held — as long
as the marks are complete. The ``complete`` key says they are: it is written only by
``HandoffMarks.rebuild``, after every conversation with an open handoff in SQL got its
mark. A state store that lost its data (a Redis flush, a restarted process with the
in-memory store) has no ``complete`` key, and then the answer is "unknown": the engine
asks the database as before and the marks are rebuilt.

Timing: a mark lives ``MARK_TTL`` (twice ``COMPLETE_TTL``); ``complete`` expires after
``COMPLETE_TTL``, which forces a rebuild that renews the mark of every still-open
handoff. So while ``complete`` exists, every open handoff's mark was written at most
``COMPLETE_TTL`` ago and is still there. Marks are never deleted when a handoff
ends: a stale mark only costs the database lookup the engine made before, and a
delete could race with the same conversation being queued again.

Redis must not evict keys under memory pressure (``maxmemory-policy noeviction``,
as for the conversation states themselves).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from enum import Enum

from dialogs.state.base import StateStore

log = logging.getLogger(__name__)

COMPLETE_KEY = "handoff-marks:complete"
COMPLETE_TTL = 7 * 24 * 3600.0
MARK_TTL = 2 * COMPLETE_TTL


class Queued(Enum):
    NEVER = "never"  # the marks are complete and this conversation has none
    MARKED = "marked"  # queued once: maybe still open
    UNKNOWN = "unknown"  # the marks are not complete (the store lost its data)


def mark_key(conversation_key: str) -> str:
    return f"handoff-marks:c:{conversation_key}"


class HandoffMarks:
    """``open_conversations``: the keys of conversations with an open handoff, read
    from SQL (``HandoffQueue.open_conversation_keys``), for ``refresh``."""

    def __init__(self, store: StateStore, open_conversations: Callable[[], Awaitable[Iterable[str]]]) -> None:
        self._store = store
        self._open_conversations = open_conversations
        self._refreshing = False

    @staticmethod
    def keys(conversation_key: str) -> tuple[str, str]:
        """The keys ``verdict`` reads: read them in the same StateStore step as the
        conversation (``StateStore.locked_turn``'s ``also_read``)."""
        return mark_key(conversation_key), COMPLETE_KEY

    @staticmethod
    def verdict(values: tuple[str | None, ...]) -> Queued:
        """From the values of ``keys``: can the conversation be held by an agent?"""
        if len(values) != 2:  # a re-delivery reads nothing
            return Queued.UNKNOWN
        mark, complete = values
        if mark is not None:
            return Queued.MARKED
        return Queued.UNKNOWN if complete is None else Queued.NEVER

    async def mark(self, conversation_key: str) -> None:
        """Before the handoff is written to SQL, so no open handoff is ever unmarked
        (a failed insert leaves a stale mark: one database lookup, nothing more).
        Raises if the store does: queueing without the mark could let the bot talk
        over an agent."""
        await self._store.set(mark_key(conversation_key), "1", ttl=MARK_TTL)

    async def rebuild(self, open_conversations: Iterable[str]) -> None:
        """Mark every conversation with an open handoff (read from SQL just before),
        then declare the marks complete. A handoff queued meanwhile marks itself."""
        for conversation_key in open_conversations:
            await self._store.set(mark_key(conversation_key), "1", ttl=MARK_TTL)
        await self._store.set(COMPLETE_KEY, "1", ttl=COMPLETE_TTL)

    async def refresh(self) -> None:
        """Rebuild the marks from SQL (after ``verdict`` said UNKNOWN). One at a time
        per process; turns meanwhile ask the database themselves. A failure is logged
        and retried by a later turn: the marks stay incomplete, which is safe."""
        if self._refreshing:
            return
        self._refreshing = True
        try:
            await self.rebuild(await self._open_conversations())
        except Exception:  # noqa: BLE001 - incomplete marks only cost database lookups
            log.warning("could not rebuild the handoff marks", exc_info=True)
        finally:
            self._refreshing = False
