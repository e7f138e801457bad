"""The WhatsApp channel (Twilio): signed form webhooks in, the REST Messages API out.

Every inbound message carries the sender's number, which WhatsApp vouches for: it is
set as ``Inbound.vouched_phone`` and the dialog engine decides (a contract phone
verifies the subscriber like an SMS code).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from bots.channel import (
    Channel,
    ChannelContext,
    ReceiptLog,
    TurnHandler,
    running_channel,
)
from bots.durable_intake import DurableIntake
from bots.inbox import InboxItem
from bots.replies import send_replies
from bots.text import clean_optional
from bots.twilio_rest import TwilioRest
from bots.whatsapp.config import WEBHOOK_PATH, WhatsAppConfig
from bots.whatsapp.form import InboundMessage, parse_inbound, parse_status
from bots.whatsapp.intake import BackgroundIntake
from bots.whatsapp.rendering import WhatsAppRenderer
from bots.whatsapp.sender import CHANNEL, WhatsAppSender
from bots.whatsapp.signature import TwilioSignature
from bots.whatsapp.state import WhatsAppState
from bots.whatsapp.texts import MEDIA_NOTE, reason_for
from dialogs.delivery import DeliveryResult
from dialogs.messages import Inbound, Reply

if TYPE_CHECKING:
    from fastapi import APIRouter

    from bots.outbox import Outbox

log = logging.getLogger(__name__)


class NotRecorded(RuntimeError):
    """The inbox could not take the message (the database is away): the route answers
    503 so that Twilio delivers it again."""


class WhatsAppChannel(Channel):
    name = CHANNEL
    messaging_window = timedelta(hours=24)

    def __init__(self, config: WhatsAppConfig, *, concurrency: int = 16) -> None:
        self.config = config
        # Buttons travel only as Content templates (quick replies, list pickers); without them a numbered menu.
        self.max_buttons = config.max_buttons  # type: ignore[misc]
        self.signature = TwilioSignature(config.auth_token, config.public_base_url)
        self.rest = TwilioRest(config.account_sid, config.auth_token, config.api_base)
        self.renderer = WhatsAppRenderer(config)
        self._concurrency = concurrency
        self._engine: TurnHandler | None = None
        self._receipts: ReceiptLog | None = None
        self._clock: Callable[[], datetime] | None = None
        self._state: WhatsAppState | None = None
        self._sender: WhatsAppSender | None = None
        self._intake: BackgroundIntake | None = None
        self._durable: DurableIntake | None = None
        self._outbox: "Outbox | None" = None

    # -- the Channel contract ---------------------------------------------------------------------
    def routes(self) -> Sequence["APIRouter"]:
        from bots.whatsapp.webhook import (
            make_webhook_router,  # the webhook imports this module
        )

        return [make_webhook_router(lambda request: running_channel(request, CHANNEL))]

    async def start(self, context: ChannelContext) -> None:
        self._engine, self._receipts, self._clock = context.engine, context.receipts, context.clock
        self._state = WhatsAppState(context.store, window=self.messaging_window)
        self._sender = WhatsAppSender(self.rest, self.config, self._state, self.renderer, context.clock)
        self._intake = BackgroundIntake(self._state, self.process, concurrency=self._concurrency)
        self._outbox = context.outbox
        if context.inbox is not None:
            # Durable: recorded before Twilio gets its 200, processed by the inbox worker;
            # the inbox's unique (channel, MessageSid) replaces the StateStore claim.
            self._durable = DurableIntake(context.inbox, CHANNEL, self._process_recorded)
            self._durable.start()
        if self.config.public_base_url is None:
            log.warning(
                "WhatsApp: PUBLIC_BASE_URL is not set, so %s refuses every request (Twilio's "
                "signature covers the public URL) and no status callbacks are asked for",
                WEBHOOK_PATH,
            )

    async def close(self) -> None:
        if self._durable is not None:
            await self._durable.close()  # first: what it has not finished stays recorded
        if self._intake is not None:
            await self._intake.close()
        await self.rest.aclose()

    @property
    def sender(self) -> WhatsAppSender:
        return self.started(self._sender)

    @property
    def intake(self) -> BackgroundIntake:
        return self.started(self._intake)

    @property
    def state(self) -> WhatsAppState:
        return self.started(self._state)

    # -- webhooks (already signature-checked by the route) ---------------------------------------------
    async def accept_message(self, form: Mapping[str, Any]) -> bool:
        """Read and hand over an inbound message; False for a retried ``MessageSid``.
        Raises ``MalformedWebhook`` for a form we cannot read."""
        message = parse_inbound(form)
        if self._durable is None:
            return await self.intake.accept(message)
        try:
            return await self._durable.record(
                message.message_sid, f"{CHANNEL}:{message.sender}", json.dumps(asdict(message))
            )
        except Exception as error:  # noqa: BLE001 - not recorded: not acknowledged
            log.error("WhatsApp message %s not recorded: %s", message.message_sid, type(error).__name__)
            raise NotRecorded(type(error).__name__) from None

    async def drain(self) -> None:
        """Wait until every accepted message is processed (tests, shutdown)."""
        if self._durable is not None:
            await self._durable.drain()
        await self.intake.drain()

    async def _process_recorded(self, item: InboxItem) -> None:
        """The inbox worker's handler: one recorded message, here and now. The row is
        done when this returns; a failure (say, Redis away before the engine's turn) is
        logged without the message and raised, and the inbox retries it with a backoff
        (up to its attempts, then the row is set aside as failed) instead of marking it
        done unanswered. A retry of an answered message is answered from the engine's record."""
        message = InboundMessage(**json.loads(item.payload))
        try:
            await asyncio.wait_for(self.process(message), self.intake.processing_timeout)
        except Exception as error:  # noqa: BLE001 - logged without the message
            log.error("WhatsApp message %s not processed: %s", message.message_sid, type(error).__name__)
            raise

    async def record_status(self, form: Mapping[str, Any]) -> None:
        """A status callback (delivered / read / failed …) into the delivery receipts."""
        report = parse_status(form)
        if self._receipts is None:
            return
        await self._receipts.record(
            CHANNEL,
            report.message_sid,
            report.status,
            error_code=report.error_code,
            error_message=reason_for(report.error_code) if report.error_code else None,
            conversation_key=f"{CHANNEL}:{report.recipient}" if report.recipient else None,
        )

    # -- one message ----------------------------------------------------------------------------------
    async def process(self, message: InboundMessage) -> None:
        engine, state, clock = self.started(self._engine), self.state, self.started(self._clock)
        await state.note_inbound(message.sender, clock())  # opens the 24-hour window
        if not message.body.strip() and not message.button_payload:
            # Media, a location, a shared contact card: nothing the engine can read.
            self._log_failure(await self.sender.send(message.sender, [Reply(text=MEDIA_NOTE)]))
            return
        result = await engine.handle(await self.inbound_of(message))
        if result.duplicate or not result.replies:
            return  # already answered, or an agent holds the conversation
        self._log_failure(
            await send_replies(self.sender, self._outbox, message.sender, result.replies, message_id=message.message_sid)
        )

    async def inbound_of(self, message: InboundMessage) -> Inbound:
        """A pressed quick reply or a menu digit becomes the button's payload; anything
        else is typed text."""
        payload = None
        text: str | None = message.body
        if message.button_payload:
            payload = await self.state.payload_for_button(message.sender, message.button_payload)
            if payload is None:  # an id we no longer know: read what the button said
                text = message.button_text or message.body
        else:
            payload = await self.state.payload_for_digit(message.sender, message.body)
        return Inbound(
            channel=CHANNEL,
            user_id=message.sender,
            message_id=message.message_sid,
            # Cleaned at the adapter boundary: a NUL must not reach PostgreSQL (bots.text).
            text=None if payload else clean_optional(text),
            payload=clean_optional(payload),
            vouched_phone=message.sender,
            display_name=clean_optional(message.profile_name),
        )

    @staticmethod
    def _log_failure(result: DeliveryResult) -> None:
        if not result.sent:
            log.error("WhatsApp: reply not delivered: %s", result.detail or result.reason)



def channel_from_settings(settings: Any) -> WhatsAppChannel | None:
    """On when ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``TWILIO_WHATSAPP_FROM`` are set."""
    config = WhatsAppConfig.from_settings(settings)
    return WhatsAppChannel(config) if config is not None else None
