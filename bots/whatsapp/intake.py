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

from bots.ordering import OrderedPerKey
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
        self._work = OrderedPerKey()  # one sender's messages in arrival order

    async def accept(self, message: InboundMessage) -> bool:
        """Claim and schedule; False for a message already taken (a retry)."""
        if not await self._claim(message.message_sid):
            log.info("WhatsApp message %s was already taken; skipped", message.message_sid)
            return False
        self._work.submit(message.sender, lambda: self._run(message))
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

    async def _run(self, message: InboundMessage) -> None:
        async with self._slots:
            try:
                await asyncio.wait_for(self.process(message), self.processing_timeout)
            except Exception as error:  # noqa: BLE001 - logged, never raised into the loop
                log.error("WhatsApp message %s not processed: %s", message.message_sid, type(error).__name__)

    async def drain(self) -> None:
        """Wait until every accepted message is processed (tests, shutdown)."""
        await self._work.drain()

    async def close(self, *, grace: float = 10.0) -> None:
        """Let messages in progress finish (up to ``grace`` seconds), cancel the rest."""
        cancelled = await self._work.close(grace=grace)
        if cancelled:
            log.warning("WhatsApp: %d message(s) cancelled at shutdown", cancelled)
