"""A channel's side of the durable inbox (``bots.inbox``), shared by the messengers.

The webhook calls :meth:`DurableIntake.record` before it acknowledges: when that
returns, the update is committed (a messenger's retry of it collapses into the same
row); when it raises (the database is away) the webhook answers 5xx and the messenger
delivers again later. An :class:`~bots.inbox.InboxWorker` then hands each row to the
channel's handler — one conversation's updates one at a time, in arrival order — and
marks it done only after the handler returned, so a row of a process that died is
processed after the restart (its lease runs out).
"""

from __future__ import annotations

import asyncio
import logging

from bots.inbox import Handler, Inbox, InboxWorker

log = logging.getLogger(__name__)

UNFINISHED = ("pending", "processing")


class DurableIntake:
    def __init__(self, inbox: Inbox, channel: str, handler: Handler, *, poll_seconds: float = 1.0) -> None:
        self.inbox = inbox
        self.channel = channel
        self.worker = InboxWorker(inbox, channel, handler, poll_seconds=poll_seconds)

    def start(self) -> None:
        self.worker.start()

    async def close(self) -> None:
        """Stop claiming; a row in progress is taken again after its lease (next start)."""
        await self.worker.close()

    async def record(self, provider_id: str, conversation_key: str, payload: str) -> bool:
        """Commit the update; False for one recorded before. Raises when the database
        cannot take it (the caller answers 5xx)."""
        new = await self.inbox.record(self.channel, provider_id, conversation_key, payload)
        self.worker.notify()
        return new

    async def drain(self, *, timeout: float = 60.0) -> None:
        """Wait until no update of this channel is waiting or in progress (tests,
        shutdown); the background worker may hold some, so this polls the table."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            await self.worker.drain()
            counts = await self.inbox.counts(self.channel)
            if not any(counts.get(status) for status in UNFINISHED):
                return
            if asyncio.get_running_loop().time() > deadline:
                log.warning("%s: inbox not drained within %.0f s: %s", self.channel, timeout, counts)
                return
            await asyncio.sleep(0.02)
