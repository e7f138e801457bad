"""In-process StateStore: the default for a single process.

Every method runs without awaiting between reading and writing its data, so each
one is atomic with respect to other tasks of the same event loop.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncContextManager

from dialogs.state._subscription import SubscriberInbox
from dialogs.state.base import LockedTurn, LockTimeout, StateStore, TurnRefused

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Value:
    value: str
    expires_at: float | None  # on ``clock``; None: never


@dataclass(slots=True)
class _KeyLock:
    mutex: asyncio.Lock
    users: int = 0  # the holder plus everyone waiting; the entry goes at zero
    owner: object | None = None  # token of the current holder
    deadline: float | None = None  # loop time at which the holder's lock frees itself
    # The timer that frees it then: armed only while someone waits (lazy expiry — a
    # lock nobody waits for needs no freeing; its holder's late release is logged).
    expiry: asyncio.TimerHandle | None = None


@dataclass(frozen=True, slots=True)
class MemoryStats:
    keys: int  # stored values, expired-but-not-yet-swept included
    pending_expiries: int  # entries in the expiry heap, stale ones included
    locks: int  # keys someone holds or waits for
    subscriptions: int


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")


class MemoryStateStore(StateStore):
    """One process only: nothing is shared with other processes or kept on restart.

    ``clock`` (monotonic seconds) drives value expiry; lock expiry uses the event
    loop's own clock. ``sweep_batch`` bounds how many expired keys one call removes,
    so a mass expiry never stalls the loop; ``subscriber_queue_size`` bounds each
    subscriber's backlog of live events.
    """

    # Values live in this process's heap: a turn's stored result is kept as it is
    # (compressing it cost ~5% of a web chat message's CPU to save heap, not Redis).
    compress_large_values = False

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sweep_batch: int = 1000,
        subscriber_queue_size: int = 1000,
    ) -> None:
        self._clock = clock
        self._sweep_batch = sweep_batch
        self._subscriber_queue_size = subscriber_queue_size
        self._values: dict[str, _Value] = {}
        # (expires_at, key) for every write with a TTL. Entries go stale when a key
        # is overwritten or deleted; the sweep skips those, and ``_compact`` rebuilds
        # the heap when stale entries outnumber live ones.
        self._expiries: list[tuple[float, str]] = []
        self._locks: dict[str, _KeyLock] = {}
        self._topics: dict[str, set[SubscriberInbox]] = {}
        self._closed = False

    # -- plain values -------------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        entry = self._live(key, self._tick())
        return None if entry is None else entry.value

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        _check_ttl(ttl)
        self._store(key, value, ttl, self._tick())

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        _check_ttl(ttl)
        now = self._tick()
        if self._live(key, now) is not None:
            return False
        self._store(key, value, ttl, now)
        return True

    async def delete(self, key: str) -> None:
        self._tick()
        self._values.pop(key, None)

    # -- counters -------------------------------------------------------------------------
    async def incr(self, key: str, window: float) -> int:
        return self._count(key, window, self._tick())

    def _count(self, key: str, window: float, now: float) -> int:
        _check_ttl(window)
        entry = self._live(key, now)
        if entry is None:
            self._store(key, "1", window, now)
            return 1
        count = int(entry.value) + 1  # a non-integer value raises, as in Redis
        entry.value = str(count)
        if entry.expires_at is None:  # a plain value turned counter still gets a window
            self._store(key, entry.value, window, now)
        return count

    async def ttl(self, key: str) -> float | None:
        now = self._tick()
        entry = self._live(key, now)
        if entry is None or entry.expires_at is None:
            return None
        return entry.expires_at - now

    # -- locks --------------------------------------------------------------------------------
    # Plain classes, not ``@asynccontextmanager`` generators, and no timer for a lock
    # nobody waits for (nearly every turn's): together ~8 µs of a web chat message.
    def lock(self, key: str, *, timeout: float = 30.0, wait: float = 30.0) -> AsyncContextManager[None]:
        return _HeldLock(self, key, timeout, wait)

    async def _acquire(self, key: str, timeout: float | None, wait: float) -> tuple[_KeyLock, object]:
        """Take ``key``'s lock: (its entry, the holder's token) for ``_release``."""
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _KeyLock(asyncio.Lock())
        entry.users += 1
        try:
            if entry.users == 1:
                # Nobody holds the lock or waits for it (``users`` counts both): the
                # acquire cannot wait, so no timer is armed for it.
                await entry.mutex.acquire()
            else:
                # Someone waits now: the holder's lock must free itself at its deadline.
                self._arm_expiry(key, entry)
                try:
                    async with asyncio.timeout(wait):
                        await entry.mutex.acquire()
                except TimeoutError:
                    raise LockTimeout(f"lock {key!r} is still held after waiting {wait} s") from None
        except BaseException:  # timed out or cancelled while waiting
            self._leave(key, entry)
            raise
        token = object()
        entry.owner = token
        entry.deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        if entry.users > 1:
            self._arm_expiry(key, entry)  # others wait behind this holder
        return entry, token

    def _release(self, key: str, entry: _KeyLock, token: object) -> None:
        try:
            if entry.owner is token:
                if entry.expiry is not None:
                    entry.expiry.cancel()
                    entry.expiry = None
                elif entry.deadline is not None and asyncio.get_running_loop().time() >= entry.deadline:
                    # Nobody waited, so nothing freed it at its deadline: still say so.
                    log.warning("lock %r was held longer than its timeout", key)
                entry.owner = entry.deadline = None
                entry.mutex.release()
            else:
                log.warning("lock %r was held longer than its timeout and had already been freed", key)
        finally:
            self._leave(key, entry)

    def _leave(self, key: str, entry: _KeyLock) -> None:
        entry.users -= 1
        if entry.users == 0 and self._locks.get(key) is entry:
            del self._locks[key]

    def _arm_expiry(self, key: str, entry: _KeyLock) -> None:
        """Free the holder's lock at its deadline (armed once someone waits for it)."""
        if entry.expiry is None and entry.owner is not None and entry.deadline is not None:
            loop = asyncio.get_running_loop()
            entry.expiry = loop.call_at(entry.deadline, self._expire_lock, key, entry, entry.owner)

    @staticmethod
    def _expire_lock(key: str, entry: _KeyLock, token: object) -> None:
        if entry.owner is not token:
            return
        log.warning("lock %r outlived its timeout; freeing it for the next holder", key)
        entry.owner = entry.deadline = entry.expiry = None
        entry.mutex.release()

    def locked_turn(
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
    ) -> AsyncContextManager[LockedTurn]:
        """As ``StateStore.locked_turn`` (same steps, same results), with the reads and
        the writes each done in one go: no await between them, one clock reading."""
        return _MemoryTurn(self, lock_key, timeout, wait, once_key, counter_key, window, state_key, also_read, refuse_if)

    def _begin_turn(self, once_key: str | None, counter_key: str, window: float, state_key: str,
                    also_read: tuple[str, ...]) -> LockedTurn:  # fmt: skip
        now = self._tick()
        once = self._value_of(once_key, now) if once_key else None
        if once is not None:
            return LockedTurn(once, None, None, ())
        count = self._count(counter_key, window, now)
        state = self._value_of(state_key, now)
        also = tuple([self._value_of(key, now) for key in also_read])
        return LockedTurn(None, count, state, also)

    def _end_turn(self, turn: LockedTurn) -> None:
        if turn.writes:
            now = self._tick()
            for key, value, ttl in turn.writes:
                self._store(key, value, ttl, now)

    # -- live events ------------------------------------------------------------------------------
    async def publish(self, topic: str, message: str) -> None:
        for inbox in tuple(self._topics.get(topic, ())):
            inbox.put(message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[SubscriberInbox]:
        if self._closed:
            raise RuntimeError("the state store is closed")
        inbox = SubscriberInbox(topic, self._subscriber_queue_size)
        self._topics.setdefault(topic, set()).add(inbox)
        try:
            yield inbox
        finally:
            inbox.close()
            inboxes = self._topics.get(topic)
            if inboxes is not None:
                inboxes.discard(inbox)
                if not inboxes:
                    del self._topics[topic]

    # -- lifecycle ------------------------------------------------------------------------------------
    async def ping(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        """End every open subscription and drop all values."""
        self._closed = True
        for inboxes in self._topics.values():
            for inbox in inboxes:
                inbox.close()
        self._values.clear()
        self._expiries.clear()

    def stats(self) -> MemoryStats:
        return MemoryStats(
            keys=len(self._values),
            pending_expiries=len(self._expiries),
            locks=len(self._locks),
            subscriptions=sum(len(inboxes) for inboxes in self._topics.values()),
        )

    # -- expiry ------------------------------------------------------------------------------------------
    def _value_of(self, key: str, now: float) -> str | None:
        entry = self._live(key, now)
        return None if entry is None else entry.value

    def _live(self, key: str, now: float) -> _Value | None:
        """The key's entry unless it has expired (then it is removed: lazy expiry)."""
        entry = self._values.get(key)
        if entry is not None and entry.expires_at is not None and entry.expires_at <= now:
            del self._values[key]
            return None
        return entry

    def _store(self, key: str, value: str, ttl: float | None, now: float) -> None:
        expires_at = None if ttl is None else now + ttl
        self._values[key] = _Value(value, expires_at)
        if expires_at is not None:
            heapq.heappush(self._expiries, (expires_at, key))
            if len(self._expiries) > 2 * len(self._values) + self._sweep_batch:
                self._compact()

    def _tick(self) -> float:
        """Read the clock and sweep a bounded batch of expired keys.

        Lazy expiry alone would keep every key nobody reads again (each of 750k
        subscribers may leave one), so every call also removes a few of those.
        """
        now = self._clock()
        heap = self._expiries
        for _ in range(self._sweep_batch):
            if not heap or heap[0][0] > now:
                break
            expires_at, key = heapq.heappop(heap)
            entry = self._values.get(key)
            if entry is not None and entry.expires_at == expires_at:
                del self._values[key]
        return now

    def _compact(self) -> None:
        self._expiries = [(e.expires_at, k) for k, e in self._values.items() if e.expires_at is not None]
        heapq.heapify(self._expiries)


class _HeldLock:
    """``MemoryStateStore.lock``'s context manager."""

    __slots__ = ("_store", "_key", "_timeout", "_wait", "_held")

    def __init__(self, store: MemoryStateStore, key: str, timeout: float | None, wait: float) -> None:
        self._store, self._key, self._timeout, self._wait = store, key, timeout, wait

    async def __aenter__(self) -> None:
        self._held = await self._store._acquire(self._key, self._timeout, self._wait)

    async def __aexit__(self, *exc_info: object) -> None:
        self._store._release(self._key, *self._held)


class _MemoryTurn:
    """``MemoryStateStore.locked_turn``'s context manager: the reads when the lock is
    taken, the writes (only when the body ends normally) before it is released."""

    __slots__ = ("_store", "_lock_key", "_timeout", "_wait", "_reads", "_refuse_if", "_held", "_turn")

    def __init__(self, store: MemoryStateStore, lock_key: str, timeout: float, wait: float, once_key: str | None,
                 counter_key: str, window: float, state_key: str, also_read: tuple[str, ...],
                 refuse_if: str | None) -> None:  # fmt: skip
        self._store, self._lock_key, self._timeout, self._wait = store, lock_key, timeout, wait
        self._reads = (once_key, counter_key, window, state_key, also_read)
        self._refuse_if = refuse_if

    async def __aenter__(self) -> LockedTurn:
        store = self._store
        if self._refuse_if and store._value_of(self._refuse_if, store._tick()) is not None:
            raise TurnRefused(self._refuse_if)
        self._held = await store._acquire(self._lock_key, self._timeout, self._wait)
        try:
            self._turn = store._begin_turn(*self._reads)
        except BaseException:  # a value that is no counter: the lock goes back at once
            store._release(self._lock_key, *self._held)
            raise
        return self._turn

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        try:
            if exc_type is None:
                self._store._end_turn(self._turn)
        finally:
            self._store._release(self._lock_key, *self._held)
