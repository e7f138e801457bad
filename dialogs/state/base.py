"""StateStore: the shared, short-lived state of the dialog engine.

Conversation state, de-duplication keys, rate-limit counters, per-conversation
locks and live events. Two implementations share one contract test suite
(tests/state/test_contract.py): ``MemoryStateStore`` (one process, the default)
and ``RedisStateStore`` (many processes).

Anything a subscriber was promised (callbacks, handoffs) lives in SQL, not here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import AsyncContextManager, AsyncIterator


class LockTimeout(TimeoutError):
    """The per-key lock could not be acquired in time."""


class StateStore(ABC):
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
