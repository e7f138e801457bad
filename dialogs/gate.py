"""What every turn passes before the dialog: one at a time per conversation, once
per channel message, and not faster than a person writes.

The one owner of the ``lock:``, ``dedup:`` and ``rate:`` keys of the StateStore.
"""

from __future__ import annotations

import json
from typing import AsyncContextManager

from dialogs.messages import Inbound, TurnResult
from dialogs.state.base import StateStore

RATE_WINDOW_SECONDS = 60


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

    def one_at_a_time(self, inbound: Inbound) -> AsyncContextManager[None]:
        """Two messages of one subscriber never interleave (across processes with Redis)."""
        return self._store.lock(
            f"lock:{inbound.conversation_key}", timeout=self._lock_timeout, wait=self._lock_wait
        )

    async def answered_before(self, inbound: Inbound) -> TurnResult | None:
        """The stored result of this very channel message, if it was handled already."""
        key = self._dedup_key(inbound)
        seen = await self._store.get(key) if key else None
        return None if seen is None else TurnResult.from_dict(json.loads(seen), duplicate=True)

    async def remember(self, inbound: Inbound, result: TurnResult) -> None:
        key = self._dedup_key(inbound)
        if key:
            await self._store.set(key, json.dumps(result.to_dict(), ensure_ascii=False), ttl=self._dedup_ttl)

    async def too_fast(self, inbound: Inbound) -> bool:
        count = await self._store.incr(f"rate:{inbound.conversation_key}", RATE_WINDOW_SECONDS)
        return count > self._per_minute

    @staticmethod
    def _dedup_key(inbound: Inbound) -> str | None:
        # Message ids are unique per chat on some channels (Telegram), not globally.
        return f"dedup:{inbound.conversation_key}:{inbound.message_id}" if inbound.message_id else None
