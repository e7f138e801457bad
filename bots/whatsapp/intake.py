"""Intake: from an accepted webhook to a message processed in the background.

The webhook answers Twilio at once; the message is processed afterwards:

* a ``MessageSid`` is taken once (``WhatsAppState.claim_message``: across processes
  with Redis), so Twilio's retries have one effect;
* one subscriber's messages are processed one after another in arrival order (an
  account number before the password typed next), different subscribers in parallel,
  at most ``concurrency`` at a time;
* a failure is logged (its type, never the message) and swallowed.

:meth:`BackgroundIntake.accept` is used only when the channel starts without an inbox;
with one (the app's usual case) ``WhatsAppChannel.accept_message`` records the message
in the durable inbox instead (``bots.durable_intake``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from bots.whatsapp.form import InboundMessage
from bots.whatsapp.state import WhatsAppState

log = logging.getLogger(__name__)

Process = Callable[[InboundMessage], Awaitable[None]]


class BackgroundIntake:
    def __init__(
        self,
        state: WhatsAppState,
        process: Process,
        *,
        concurrency: int = 16,
        processing_timeout: float = 120.0,
        claim_timeout: float = 5.0,
    ) -> None:
        self.state = state
        self.process = process
        self.processing_timeout = processing_timeout
        self.claim_timeout = claim_timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._last_of_sender: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, message: InboundMessage) -> bool:
        """Claim and schedule; False for a message already taken (a retry)."""
        if not await self._claim(message.message_sid):
            log.info("WhatsApp message %s was already taken; skipped", message.message_sid)
            return False
        previous = self._last_of_sender.get(message.sender)
        task = asyncio.ensure_future(self._run(message, previous))
        self._last_of_sender[message.sender] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(message.sender, done))
        return True

    async def _claim(self, message_sid: str) -> bool:
        """A slow or absent StateStore must not hold the webhook answer: after the
        deadline the message is processed anyway (the engine de-duplicates by message
        id too) — a rare double reply beats a lost message."""
        try:
            return await asyncio.wait_for(self.state.claim_message(message_sid), self.claim_timeout)
        except Exception as error:  # noqa: BLE001
            log.warning("WhatsApp message %s: de-duplication unavailable (%s)", message_sid, type(error).__name__)
            return True

    async def _run(self, message: InboundMessage, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # order within one sender; never raises
        async with self._slots:
            try:
                await asyncio.wait_for(self.process(message), self.processing_timeout)
            except Exception as error:  # noqa: BLE001 - logged, never raised into the loop
                log.error("WhatsApp message %s not processed: %s", message.message_sid, type(error).__name__)

    def _finished(self, sender: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._last_of_sender.get(sender) is task:
            del self._last_of_sender[sender]

    async def drain(self) -> None:
        """Wait until every accepted message is processed (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, *, grace: float = 10.0) -> None:
        """Let messages in progress finish (up to ``grace`` seconds), cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            log.warning("WhatsApp: %d message(s) cancelled at shutdown", len(pending))
