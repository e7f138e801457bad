"""A subscriber's inbox for live events, shared by both StateStore backends.

Bounded, and ``put`` never waits: live events are best-effort (anything promised to
a subscriber lives in SQL), so a slow reader loses its oldest events instead of
slowing down every publisher or growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

_END = object()  # queued by ``close``: iteration stops after the messages before it
_LOG_EVERY_DROPS = 100  # one warning per this many dropped events, not one per event


class SubscriberInbox:
    """What ``async with store.subscribe(topic) as messages`` hands out."""

    def __init__(self, topic: str, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.topic = topic
        self.dropped = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self._closed = False

    def put(self, message: str) -> None:
        """Queue ``message``; never waits. A full inbox drops its oldest message."""
        if self._closed:
            return
        self._make_room()
        self._queue.put_nowait(message)

    def close(self) -> None:
        """End iteration once the messages already queued have been read."""
        if self._closed:
            return
        self._closed = True
        self._make_room()
        self._queue.put_nowait(_END)

    def _make_room(self) -> None:
        if not self._queue.full():
            return
        self._queue.get_nowait()
        self.dropped += 1
        if self.dropped % _LOG_EVERY_DROPS == 1:
            log.warning(
                "slow subscriber of %r: dropped %d oldest live event(s) so far",
                self.topic,
                self.dropped,
            )

    def __aiter__(self) -> SubscriberInbox:
        return self

    async def __anext__(self) -> str:
        item = await self._queue.get()
        if item is _END:
            # Keep the marker so that every later read also ends at once.
            self._queue.put_nowait(_END)
            raise StopAsyncIteration
        return item
