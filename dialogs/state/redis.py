"""Redis StateStore: state shared by many processes.

Key layout under ``prefix`` (default ``isp:``): ``v:<key>`` values and counters,
``lock:<key>`` locks, ``ch:<topic>`` pub/sub channels. The three never collide,
and pub/sub channels (global across Redis databases) carry the prefix too.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import BlockingConnectionPool, ConnectionPool
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError, RedisError

from dialogs.state._autopipeline import ScriptPipeline
from dialogs.state._fanout import PubSubFanout
from dialogs.state._subscription import SubscriberInbox
from dialogs.state.base import LockedTurn, LockTimeout, StateStore, TurnRefused

log = logging.getLogger(__name__)

# INCR and the window's expiry in one step: a crash between two separate commands
# could leave a counter without expiry, and then a rate limit would never reset.
# A counter found without expiry (e.g. a plain value turned counter) gets one too.
_INCR_IN_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""

# The start of a dialog turn in one round trip (StateStore.locked_turn): the lock
# (the same SET NX PX with a token as redis-py's Lock, so both exclude each other),
# then the de-duplication key; unless it is set, the rate counter (as _INCR_IN_WINDOW),
# the conversation state and the keys read beside it. Before all that, the refusing
# key: when it exists, nothing is done (not even the lock taken). KEYS: lock, counter,
# state, [refuse,] [once,] also-read...; ARGV: token, lock ms, window ms, 1 if a once
# key is given else 0, 1 if a refusing key is given else 0. Returns false while the
# lock is held elsewhere, {2} when refused.
_BEGIN_TURN = """
local next_key = 4
if ARGV[5] == '1' then
    if redis.call('EXISTS', KEYS[4]) == 1 then
        return {2}
    end
    next_key = 5
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return false
end
local first_also = next_key
if ARGV[4] == '1' then
    local once = redis.call('GET', KEYS[next_key])
    if once then
        return {0, once}
    end
    first_also = next_key + 1
end
local count = redis.call('INCR', KEYS[2])
if count == 1 or redis.call('PTTL', KEYS[2]) == -1 then
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local found = {1, count, redis.call('GET', KEYS[3])}
for i = first_also, #KEYS do
    found[#found + 1] = redis.call('GET', KEYS[i])
end
return found
"""

# The end of a turn in one round trip: its writes, then the lock released if this
# holder still owns it (as redis-py's Lock.release). KEYS: lock, then one per write;
# ARGV: token, then per write its value and ttl in ms (0: no expiry).
# Returns 1 if the lock was released, 0 if it had expired (and maybe been taken).
_END_TURN = """
for i = 2, #KEYS do
    local value, ttl = ARGV[2 * i - 2], tonumber(ARGV[2 * i - 1])
    if ttl > 0 then
        redis.call('SET', KEYS[i], value, 'PX', ttl)
    else
        redis.call('SET', KEYS[i], value)
    end
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
end
return 0
"""


def _milliseconds(seconds: float | None) -> int | None:
    if seconds is None:
        return None
    if seconds <= 0:
        raise ValueError(f"ttl must be positive, got {seconds!r}")
    return max(1, math.ceil(seconds * 1000))


def _log_failed_release(reply: "asyncio.Future") -> None:
    if not reply.cancelled() and reply.exception() is not None:
        log.warning("could not release an abandoned turn's lock (it expires by itself): %r", reply.exception())


def _text(raw: bytes | str | None) -> str | None:
    # Works whether or not the client was made with decode_responses=True.
    if raw is None or isinstance(raw, str):
        return raw
    return raw.decode("utf-8")


class RedisStateStore(StateStore):
    """``client`` stays the caller's: ``close`` closes only a client made by ``from_url``.

    Every live-event subscription of the process shares one Redis connection, kept
    apart from the connections commands use (``_fanout``).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "isp:",
        *,
        subscriber_queue_size: int = 1000,
        lock_poll_interval: float = 0.05,
        ping_timeout: float = 2.0,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._subscriber_queue_size = subscriber_queue_size
        self._subscription_pool: ConnectionPool | None = None  # made on first subscribe
        self._fanout: PubSubFanout | None = None
        self._lock_poll_interval = lock_poll_interval
        self._ping_timeout = ping_timeout
        self._owns_client = False
        self._incr_in_window = client.register_script(_INCR_IN_WINDOW)
        self._begin_turn = client.register_script(_BEGIN_TURN)
        self._end_turn = client.register_script(_END_TURN)
        # The scripts go to Redis auto-pipelined: the calls of many turns made in one
        # pass of the event loop share one round trip (see _autopipeline).
        self._scripts = ScriptPipeline(client)
        self._closed = False

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = "isp:",
        *,
        max_connections: int = 50,
        connection_wait: float = 20.0,
        **options: float,
    ) -> RedisStateStore:
        """A store with a client of its own. Its pool blocks: a burst of more than
        ``max_connections`` concurrent commands waits (up to ``connection_wait``
        seconds) for a free connection instead of failing at once."""
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=connection_wait)
        store = cls(aioredis.Redis.from_pool(pool), prefix, **options)
        store._owns_client = True
        return store

    def _value_key(self, key: str) -> str:
        return f"{self._prefix}v:{key}"

    def _lock_key(self, key: str) -> str:
        return f"{self._prefix}lock:{key}"

    def _channel(self, topic: str) -> str:
        return f"{self._prefix}ch:{topic}"

    # -- plain values -------------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        return _text(await self._client.get(self._value_key(key)))

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self._client.set(self._value_key(key), value, px=_milliseconds(ttl))

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        stored = await self._client.set(self._value_key(key), value, nx=True, px=_milliseconds(ttl))
        return bool(stored)

    async def delete(self, key: str) -> None:
        await self._client.delete(self._value_key(key))

    # -- counters -------------------------------------------------------------------------
    async def incr(self, key: str, window: float) -> int:
        window_ms = _milliseconds(window)
        return int(await self._scripts.call(self._incr_in_window, [self._value_key(key)], [window_ms]))

    async def ttl(self, key: str) -> float | None:
        remaining_ms = await self._client.pttl(self._value_key(key))
        if remaining_ms < 0:  # -2: no such key, -1: no expiry
            return None
        return remaining_ms / 1000

    # -- locks --------------------------------------------------------------------------------
    @asynccontextmanager
    async def lock(self, key: str, *, timeout: float = 30.0, wait: float = 30.0) -> AsyncIterator[None]:
        if timeout is not None and timeout <= 0:
            raise ValueError(f"lock timeout must be positive, got {timeout!r}")
        lock = Lock(
            self._client,
            self._lock_key(key),
            timeout=timeout,  # the key's expiry: a dead holder frees it
            sleep=self._lock_poll_interval,
            blocking=True,
            blocking_timeout=wait,
            thread_local=False,  # one Lock object per holder already
        )
        if not await lock.acquire():
            raise LockTimeout(f"lock {key!r} is still held after waiting {wait} s")
        try:
            yield
        finally:
            try:
                # Shielded: a holder cancelled here still frees the lock at once
                # instead of blocking the conversation until ``timeout``.
                await asyncio.shield(lock.release())
            except LockNotOwnedError:
                log.warning("lock %r was held longer than its timeout (%s s) and had already been freed", key, timeout)

    # -- one turn of a conversation ------------------------------------------------------------
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
        """One script at the start and one at the end instead of seven round trips."""
        if timeout is None or timeout <= 0:
            raise ValueError(f"lock timeout must be positive, got {timeout!r}")
        token = uuid.uuid4().hex
        keys = [self._lock_key(lock_key), self._value_key(counter_key), self._value_key(state_key)]
        if refuse_if:
            keys.append(self._value_key(refuse_if))
        if once_key:
            keys.append(self._value_key(once_key))
        keys += [self._value_key(key) for key in also_read]
        args = [token, _milliseconds(timeout), _milliseconds(window), 1 if once_key else 0, 1 if refuse_if else 0]
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + wait

        def give_back(opened: list | None) -> None:
            # The caller stopped waiting (cancelled) but the script ran: a lock it took
            # is released at once instead of blocking the conversation until ``timeout``.
            if opened is not None and opened[0] != 2:
                self._scripts.call(self._end_turn, [keys[0]], [token]).add_done_callback(_log_failed_release)

        while (opened := await self._scripts.call(self._begin_turn, keys, args, abandoned=give_back)) is None:
            if loop.time() >= give_up_at:
                raise LockTimeout(f"lock {lock_key!r} is still held after waiting {wait} s")
            await asyncio.sleep(min(self._lock_poll_interval, max(0.0, give_up_at - loop.time())))
        if opened[0] == 2:
            raise TurnRefused(refuse_if)  # the lock was not taken: nothing to release
        if opened[0] == 0:
            turn = LockedTurn(once=_text(opened[1]), count=None, state=None)
        else:
            # A missing key comes back as None (Lua false), so the reply keeps its length.
            also = tuple(_text(value) for value in opened[3:])
            turn = LockedTurn(once=None, count=int(opened[1]), state=_text(opened[2]), also=also)
        writes: list[tuple[str, str, float | None]] = []
        try:
            yield turn
            writes = turn.writes
        finally:
            # Sent even if this holder is cancelled while it waits (a queued call always
            # is): the lock is freed at once either way.
            released = await self._scripts.call(
                self._end_turn,
                [keys[0], *(self._value_key(key) for key, _, _ in writes)],
                [token, *(part for _, value, ttl in writes for part in (value, _milliseconds(ttl) or 0))],
            )
            if not released:
                log.warning("lock %r was held longer than its timeout (%s s) and had already been freed", lock_key, timeout)

    # -- live events ------------------------------------------------------------------------------
    async def publish(self, topic: str, message: str) -> None:
        await self._client.publish(self._channel(topic), message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[SubscriberInbox]:
        """Every subscription of this process shares one Redis connection (see
        ``_fanout``); each gets its own bounded inbox, so a slow reader never makes Redis
        buffer (and eventually cut off) the connection, nor slows the others."""
        if self._closed:
            raise RuntimeError("the state store is closed")
        channel = self._channel(topic)
        inbox = SubscriberInbox(topic, self._subscriber_queue_size)
        fanout = self._live_events()
        await fanout.add(channel, inbox)
        try:
            yield inbox
        finally:
            inbox.close()
            if not self._closed:
                await fanout.remove(channel, inbox)

    def _live_events(self) -> PubSubFanout:
        if self._fanout is None:
            commands = self._client.connection_pool
            # Its own single-connection pool: the subscription connection is never one
            # that commands need.
            self._subscription_pool = ConnectionPool(
                connection_class=commands.connection_class, max_connections=1, **commands.connection_kwargs
            )
            self._fanout = PubSubFanout(lambda: PubSub(self._subscription_pool))
        return self._fanout

    # -- lifecycle ------------------------------------------------------------------------------------
    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self._ping_timeout):
                return bool(await self._client.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        """End every open subscription; close the client if this store made it."""
        if self._closed:
            return
        self._closed = True
        await self._scripts.drain()  # the turns' last writes and releases
        if self._fanout is not None:
            await self._fanout.close()
        if self._subscription_pool is not None:
            await self._subscription_pool.aclose()
        if self._owns_client:
            await self._client.aclose()
