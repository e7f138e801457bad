"""What every turn passes before the dialog: one at a time per conversation, once
per channel message, and not faster than a person writes.

The one owner of the ``lock:``, ``dedup:`` and ``rate:`` keys of the StateStore.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import AsyncContextManager

from dialogs.conversation import Conversation, ConversationStore
from dialogs.messages import Inbound, TurnResult
from dialogs.state.base import LockedTurn, StateStore

RATE_WINDOW_SECONDS = 60
# A stored result is kept for a day per channel message, mostly Russian text (two
# bytes a letter in UTF-8): compressed it takes about a third of the room, which
# keeps an idle conversation's Redis under 2 KB (benchmarks: "Redis memory per idle
# conversation"). Base64 (in C, unlike base85) because StateStore values are text.
_COMPRESSED = "z:"
# zlib's defaults (a 32 KB window, memLevel 8) set up ~256 KB of state for each call:
# 53 µs to compress a typical 350-byte result in a loop; a 4 KB window and memLevel 4
# take 8 µs for the same 265 bytes out (a result is rarely longer than the window).
# In the served process py-spy still puts ~4% of a message's CPU here (the state's
# allocation on a busy heap). Still the zlib format: ``zlib.decompress`` reads both.
_WINDOW_BITS = 12
_MEMORY_LEVEL = 4


def _compress(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL)
    return packer.compress(data) + packer.flush()


class GateTurn:
    """One turn inside the gate: what its start found, and what it keeps at its end
    (written with the lock release, in one step of the StateStore)."""

    def __init__(self, gate: "TurnGate", inbound: Inbound, conversations: ConversationStore, locked: LockedTurn):
        self._gate = gate
        self._inbound = inbound
        self._conversations = conversations
        self._locked = locked
        # The stored result of this very channel message, if it was handled already.
        self.seen: TurnResult | None = None if locked.once is None else TurnGate.loads(locked.once)
        self.too_fast = locked.count is not None and locked.count > gate.per_minute
        # The stored conversation; None when the store does not know it (new, or lost).
        self.conversation: Conversation | None = (
            None if self.seen is not None else conversations.parse(inbound.conversation_key, locked.state)
        )

    @property
    def also(self) -> tuple[str | None, ...]:
        """The values of the keys read beside the conversation (empty for a re-delivery)."""
        return self._locked.also

    def save(self, conversation: Conversation) -> None:
        self._conversations.stage(self._locked, conversation)

    def remember(self, result: TurnResult) -> None:
        key = self._gate.dedup_key(self._inbound)
        if key:
            self._locked.set(key, self._gate.stored(result), ttl=self._gate.dedup_ttl)


class TurnGate:
    def __init__(
        self,
        store: StateStore,
        *,
        dedup_ttl_seconds: float,
        lock_timeout_seconds: float,
        lock_wait_seconds: float,
        messages_per_minute: int,
    ) -> None:
        self._store = store
        self._dedup_ttl = dedup_ttl_seconds
        self._lock_timeout = lock_timeout_seconds
        self._lock_wait = lock_wait_seconds
        self._per_minute = messages_per_minute

    @property
    def per_minute(self) -> int:
        return self._per_minute

    @property
    def dedup_ttl(self) -> float:
        return self._dedup_ttl

    def stored(self, result: TurnResult) -> str:
        """``result`` as kept under its de-duplication key: compressed where the store
        asks for it (Redis), plain JSON in-process."""
        return self.dumps(result, compress=self._store.compress_large_values)

    @asynccontextmanager
    async def enter(
        self, inbound: Inbound, conversations: ConversationStore, *, also_read: tuple[str, ...] = ()
    ) -> AsyncIterator[GateTurn]:
        """The whole gate in one StateStore step at each end (one Redis round trip
        each instead of seven): one turn at a time per conversation, the stored
        result of a re-delivered message, the rate count (a re-delivery is not
        counted), the stored conversation and the ``also_read`` keys
        (``GateTurn.also``); the conversation and the result are
        kept when the turn ends normally, and nothing when it raises. Raises
        ``TurnRefused`` when ``inbound.refused_if_set`` names a key that is set."""
        key = inbound.conversation_key
        async with self._store.locked_turn(
            f"lock:{key}",
            timeout=self._lock_timeout,
            wait=self._lock_wait,
            once_key=self.dedup_key(inbound),
            counter_key=f"rate:{key}",
            window=RATE_WINDOW_SECONDS,
            state_key=conversations.state_key(key),
            also_read=also_read,
            refuse_if=inbound.refused_if_set,
        ) as locked:
            yield GateTurn(self, inbound, conversations, locked)

    def one_at_a_time(self, inbound: Inbound) -> AsyncContextManager[None]:
        """Two messages of one subscriber never interleave (across processes with Redis)."""
        return self._store.lock(
            f"lock:{inbound.conversation_key}", timeout=self._lock_timeout, wait=self._lock_wait
        )

    async def answered_before(self, inbound: Inbound) -> TurnResult | None:
        """The stored result of this very channel message, if it was handled already."""
        key = self.dedup_key(inbound)
        seen = await self._store.get(key) if key else None
        return None if seen is None else self.loads(seen)

    async def remember(self, inbound: Inbound, result: TurnResult) -> None:
        key = self.dedup_key(inbound)
        if key:
            await self._store.set(key, self.stored(result), ttl=self._dedup_ttl)

    async def too_fast(self, inbound: Inbound) -> bool:
        count = await self._store.incr(f"rate:{inbound.conversation_key}", RATE_WINDOW_SECONDS)
        return count > self._per_minute

    @staticmethod
    def dumps(result: TurnResult, *, compress: bool = True) -> str:
        packed = json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":"))
        if not compress:
            return packed
        return _COMPRESSED + base64.b64encode(_compress(packed.encode("utf-8"))).decode("ascii")

    @staticmethod
    def loads(stored: str) -> TurnResult:
        """A stored result, compressed or (kept before compression) plain JSON."""
        if stored.startswith(_COMPRESSED):
            stored = zlib.decompress(base64.b64decode(stored[len(_COMPRESSED):])).decode("utf-8")
        return TurnResult.from_dict(json.loads(stored), duplicate=True)

    @staticmethod
    def dedup_key(inbound: Inbound) -> str | None:
        # Message ids are unique per chat on some channels (Telegram), not globally.
        return f"dedup:{inbound.conversation_key}:{inbound.message_id}" if inbound.message_id else None
