"""StateStore: the shared, short-lived state of the dialog engine.

Conversation state, de-duplication keys, rate-limit counters, per-conversation
locks and live events. Two implementations share one contract test suite
(tests/state/test_contract.py): ``MemoryStateStore`` (one process, the default)
and ``RedisStateStore`` (many processes).

Anything a subscriber was promised (callbacks, handoffs) lives in SQL, not here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncContextManager, AsyncIterator


class LockTimeout(TimeoutError):
    """The per-key lock could not be acquired in time."""


class TurnRefused(Exception):
    """``locked_turn``'s ``refuse_if`` key is set: the turn did not begin (no lock
    taken, nothing read, counted or written)."""


@dataclass
class LockedTurn:
    """What ``StateStore.locked_turn`` read when it took the lock, and the writes it
    makes when it gives the lock back."""

    once: str | None  # the value under ``once_key``: this very message was handled already
    count: int | None  # the counter after this turn's increment; None when ``once`` was found
    state: str | None  # the value under ``state_key``; None when absent or ``once`` was found
    # The values under ``also_read``, in order (None: absent); empty when ``once`` was found.
    also: tuple[str | None, ...] = ()
    writes: list[tuple[str, str, float | None]] = field(default_factory=list)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Written when the turn ends normally, before the lock is released; dropped
        if the turn raises (nothing of a failed turn is remembered)."""
        if ttl is not None and ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        self.writes.append((key, value, ttl))


class StateStore(ABC):
    # Whether callers should spend CPU to shrink the large values they keep for long
    # (a turn's stored result, kept a day): where memory is the budget (Redis: ≤ 2 KB
    # an idle conversation) compressing pays; in the process's own heap it does not.
    compress_large_values: bool = True

    # -- plain values with an optional time-to-live ------------------------------
    @abstractmethod
    async def get(self, key: str) -> str | None: ...

    @abstractmethod
    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    @abstractmethod
    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        """Store only if the key does not exist; True if this call stored it."""

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    # -- counters -----------------------------------------------------------------
    @abstractmethod
    async def incr(self, key: str, window: float) -> int:
        """Fixed-window counter: the first increment starts a window of ``window``
        seconds, after which the counter is gone. Returns the new count."""

    @abstractmethod
    async def ttl(self, key: str) -> float | None:
        """Seconds until the key expires; None if absent or without expiry."""

    # -- per-key mutual exclusion ------------------------------------------------------
    @abstractmethod
    def lock(self, key: str, *, timeout: float = 30.0, wait: float = 30.0) -> AsyncContextManager[None]:
        """Hold ``key`` exclusively. ``timeout``: the lock frees itself after that many
        seconds even if the holder died; ``wait``: give up (``LockTimeout``) after that."""

    # -- one turn of a conversation ---------------------------------------------------------
    @asynccontextmanager
    async def locked_turn(
        self,
        lock_key: str,
        *,
        timeout: float,
        wait: float,
        once_key: str | None,
        counter_key: str,
        window: float,
        state_key: str,
        also_read: tuple[str, ...] = (),
        refuse_if: str | None = None,
    ) -> AsyncIterator[LockedTurn]:
        """What a dialog turn needs at its start and end, as ``lock`` + ``get`` +
        ``incr`` + ``get`` then ``set``s inside the lock: take the lock, read
        ``once_key``; unless it is set, count one in ``counter_key`` (a ``window``
        like ``incr``) and read ``state_key`` and the ``also_read`` keys. The turn's
        ``set`` calls are written when the body ends normally, then the lock is released.

        ``refuse_if``: when that key is set, raise ``TurnRefused`` instead, before
        anything else (Redis checks it again at each attempt at a held lock; this
        default and the in-process store check it once, before waiting).

        This default composes the primitives; a networked store overrides it to
        make one round trip at each end (RedisStateStore: a script each)."""
        if refuse_if and await self.get(refuse_if) is not None:
            raise TurnRefused(refuse_if)
        async with self.lock(lock_key, timeout=timeout, wait=wait):
            once = await self.get(once_key) if once_key else None
            count = state = None
            also: tuple[str | None, ...] = ()
            if once is None:
                count = await self.incr(counter_key, window)
                state = await self.get(state_key)
                also = tuple([await self.get(key) for key in also_read])
            turn = LockedTurn(once, count, state, also)
            yield turn
            for key, value, ttl in turn.writes:
                await self.set(key, value, ttl)

    # -- live events between processes ---------------------------------------------------
    @abstractmethod
    async def publish(self, topic: str, message: str) -> None: ...

    @abstractmethod
    def subscribe(self, topic: str) -> AsyncContextManager[AsyncIterator[str]]:
        """``async with store.subscribe(t) as messages: async for m in messages: ...``
        Only messages published after subscribing are delivered."""

    # -- lifecycle ----------------------------------------------------------------------
    @abstractmethod
    async def ping(self) -> bool: ...

    async def close(self) -> None:
        return None
