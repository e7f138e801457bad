"""One Redis pub/sub connection per process for every live-event subscription.

A process with thousands of open web chat WebSockets and agent consoles would
otherwise hold one Redis connection per socket. Here one ``PubSub`` connection carries
every channel this process listens to; a single reader task hands each message to the
inboxes subscribed to its channel. SUBSCRIBE is sent once per channel (on the first
subscriber) and UNSUBSCRIBE when its last subscriber leaves.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from dialogs.state._subscription import SubscriberInbox

log = logging.getLogger(__name__)

_RECONNECT_FIRST_DELAY = 0.1  # seconds; doubles per failure ...
_RECONNECT_MAX_DELAY = 5.0  # ... up to this
_POLL_SECONDS = 1.0  # the reader wakes at least this often (to notice a closed hub)
_CONFIRM_TIMEOUT = 10.0  # seconds to wait for Redis to confirm a SUBSCRIBE


def _text(raw: bytes | str | None) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    return raw.decode("utf-8")


class PubSubFanout:
    def __init__(self, make_pubsub: Callable[[], PubSub]) -> None:
        self._make_pubsub = make_pubsub
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._inboxes: dict[str, set[SubscriberInbox]] = {}
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._changing = asyncio.Lock()  # SUBSCRIBE/UNSUBSCRIBE bookkeeping, one at a time
        self._has_channels = asyncio.Event()

    @property
    def channel_count(self) -> int:
        return len(self._inboxes)

    async def add(self, channel: str, inbox: SubscriberInbox) -> None:
        """Subscribe ``inbox``; returns once Redis confirmed the channel, so everything
        published afterwards reaches it."""
        async with self._changing:
            pubsub = self._ensure_started()
            listeners = self._inboxes.setdefault(channel, set())
            listeners.add(inbox)
            confirmed = self._confirmed.get(channel)
            if confirmed is None:
                confirmed = asyncio.get_running_loop().create_future()
                self._confirmed[channel] = confirmed
                try:
                    await pubsub.subscribe(channel)
                except BaseException:
                    listeners.discard(inbox)
                    if not listeners:
                        del self._inboxes[channel]
                        del self._confirmed[channel]
                    raise
                self._has_channels.set()
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), _CONFIRM_TIMEOUT)
        except BaseException:
            await self.remove(channel, inbox)
            raise

    async def remove(self, channel: str, inbox: SubscriberInbox) -> None:
        async with self._changing:
            listeners = self._inboxes.get(channel)
            if listeners is None:
                return
            listeners.discard(inbox)
            if listeners:
                return
            del self._inboxes[channel]
            confirmed = self._confirmed.pop(channel, None)
            if confirmed is not None and not confirmed.done():
                confirmed.cancel()
            if not self._inboxes:
                self._has_channels.clear()
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(channel)
                except (RedisError, OSError) as error:  # reconnecting re-subscribes only what is left
                    log.info("live events: UNSUBSCRIBE %r failed (%s)", channel, error)

    async def close(self) -> None:
        for listeners in self._inboxes.values():
            for inbox in listeners:
                inbox.close()
        self._inboxes.clear()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing anyway
                pass
            self._reader = None
        if self._pubsub is not None:
            await self._pubsub.aclose()
            self._pubsub = None

    # -- the reader ----------------------------------------------------------------------------
    def _ensure_started(self) -> PubSub:
        if self._pubsub is None:
            self._pubsub = self._make_pubsub()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(self._pubsub), name="state-live-events")
        return self._pubsub

    async def _read(self, pubsub: PubSub) -> None:
        delay = _RECONNECT_FIRST_DELAY
        while True:
            await self._has_channels.wait()
            try:
                # After a lost connection the next read reconnects and redis-py
                # subscribes again to what is left. Events published while
                # disconnected are lost: live events are best-effort by design.
                reply = await pubsub.get_message(timeout=_POLL_SECONDS)
            except (RedisError, OSError) as error:
                log.warning("live events: Redis unreachable (%s); retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECONNECT_MAX_DELAY)
                continue
            except RuntimeError:  # "pubsub connection not set": every channel just left
                await asyncio.sleep(0)
                continue
            delay = _RECONNECT_FIRST_DELAY
            if reply is None:
                continue
            channel = _text(reply.get("channel"))
            if reply["type"] == "subscribe":
                confirmed = self._confirmed.get(channel)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)
            elif reply["type"] == "message":
                data = _text(reply["data"])
                for inbox in tuple(self._inboxes.get(channel, ())):
                    inbox.put(data)
