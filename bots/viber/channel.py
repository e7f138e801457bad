"""The Viber channel: signed callbacks in, ``send_message`` out.

``accept`` answers every callback at once:

* ``webhook`` (Viber's check when the webhook is set) — 200;
* ``conversation_started`` — the engine's greeting with the main-menu keyboard, in the
  HTTP response itself (Viber's one free welcome message);
* ``message`` — recorded in the durable inbox (unique ``message_token``; 503 when it
  cannot be recorded, so Viber retries) and processed by the inbox worker, one at a
  time per subscriber (without an inbox: claimed in the StateStore, in the background);
* ``subscribed`` / ``unsubscribed`` — remembered: nothing is sent to an unsubscribed user
  and an agent who tries is told why;
* ``delivered`` / ``seen`` / ``failed`` — recorded as delivery receipts for the console.

An error while processing a message is logged (its type, never the message) and
swallowed: one bad message never stops the bot.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from bots.channel import Channel, ChannelContext, ReceiptLog, TurnHandler, running_channel
from bots.durable_intake import DurableIntake
from bots.inbox import InboxItem
from bots.jsonbody import parse_json
from bots.replies import send_replies
from bots.text import clean_optional
from bots.viber.api import ViberApi
from bots.viber.callbacks import Callback, NotACallback, parse_callback, signature_matches
from bots.viber.config import SESSION_WINDOW, ViberConfig
from bots.ordering import OrderedPerKey
from bots.viber.phones import shared_phone_e164
from bots.viber.rendering import TEXT_LIMIT, payloads_from_tracking_data, render
from bots.viber.sender import ViberSender
from bots.viber.state import ViberState
from bots.viber.texts import NOT_TEXT_NOTE
from dialogs import payloads
from dialogs.delivery import DeliveryResult
from dialogs.messages import Inbound, Reply
from storage.clock import Clock, utc_now

if TYPE_CHECKING:
    from fastapi import APIRouter

    from bots.outbox import Outbox

log = logging.getLogger(__name__)

CHANNEL = "viber"
GREETING = payloads.make("greet")  # what Telegram's /start sends: the welcome and the menu
RECEIPT_STATUS = {"delivered": "delivered", "seen": "read", "failed": "failed"}


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


class ViberChannel(Channel):
    name = CHANNEL
    max_buttons = 24  # a Viber keyboard holds up to 24 buttons
    messaging_window = SESSION_WINDOW  # outside it a message opens a paid session

    def __init__(
        self,
        config: ViberConfig,
        *,
        api: ViberApi | None = None,
        concurrency: int = 16,
        processing_timeout: float = 120.0,
        claim_timeout: float = 5.0,
    ) -> None:
        self.config = config
        self.api = api or ViberApi(config)
        self.processing_timeout = processing_timeout
        self.claim_timeout = claim_timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._work = OrderedPerKey()
        self._engine: TurnHandler | None = None
        self._state: ViberState | None = None
        self._sender: ViberSender | None = None
        self._receipts: ReceiptLog | None = None
        self._clock: Clock = utc_now
        self._durable: DurableIntake | None = None
        self._outbox: "Outbox | None" = None

    # -- the Channel contract ----------------------------------------------------------------
    def can_ask_for_phone(self) -> bool:
        return True

    @property
    def sender(self) -> ViberSender:
        return self.started(self._sender)

    @property
    def state(self) -> ViberState:
        return self.started(self._state)

    def routes(self) -> Sequence["APIRouter"]:
        from bots.viber.webhook import make_webhook_router  # the webhook imports this module

        return [make_webhook_router(lambda request: running_channel(request, CHANNEL))]

    async def start(self, context: ChannelContext) -> None:
        self._engine = context.engine
        self._state = ViberState(context.store)
        self._receipts = context.receipts
        self._clock = context.clock
        self._sender = ViberSender(self.api, self._state, self.config, clock=context.clock)
        self._outbox = context.outbox
        if context.inbox is not None:
            # Durable: a message is recorded before Viber gets its 200 and processed by
            # the inbox worker; the inbox's unique (channel, message_token) replaces the
            # StateStore claim.
            self._durable = DurableIntake(context.inbox, CHANNEL, self._process_recorded)
            self._durable.start()

    async def close(self, *, grace: float = 10.0) -> None:
        if self._durable is not None:
            await self._durable.close()  # first: what it has not finished stays recorded
        cancelled = await self._work.close(grace=grace)
        if cancelled:
            log.warning("Viber: %d message(s) cancelled at shutdown", cancelled)
        await self.api.close()

    async def drain(self) -> None:
        """Wait until every accepted message is processed (tests, shutdown)."""
        if self._durable is not None:
            await self._durable.drain()
        await self._work.drain()

    # -- the webhook ---------------------------------------------------------------------------
    def signature_matches(self, body: bytes, header_value: str | None) -> bool:
        return signature_matches(body, header_value, self.config.auth_token)

    async def accept(self, body: bytes) -> WebhookOutcome:
        """A signed callback's answer (the caller checked the signature)."""
        try:
            raw = parse_json(body)  # a depth limit: deep nesting is 400, never a 500
        except (ValueError, UnicodeDecodeError):
            return WebhookOutcome(400, {"status": "error", "reason": "malformed JSON"})
        try:
            callback = parse_callback(raw)
        except NotACallback as error:
            return WebhookOutcome(422, {"status": "error", "reason": f"not a Viber callback: {error}"})

        if callback.event == "conversation_started":
            try:
                return WebhookOutcome(200, await self.welcome(callback))
            except Exception as error:  # noqa: BLE001 - no welcome beats a 500 Viber retries
                log.error("Viber welcome not built: %s", type(error).__name__)
                return WebhookOutcome(200, {})
        if callback.event == "message":
            if self._durable is None:
                await self.intake(callback)
            elif not await self._record(callback, raw):
                return WebhookOutcome(503, {"status": "error", "reason": "not recorded; retry later"})
        elif callback.event == "subscribed":
            await self.state.mark_subscribed(callback.who)
        elif callback.event == "unsubscribed":
            await self.state.mark_unsubscribed(callback.who)
        elif callback.event in RECEIPT_STATUS:
            await self._record_receipt(callback)
        return WebhookOutcome(200, {"status": "ok"})

    async def welcome(self, callback: Callback) -> dict[str, Any]:
        """The greeting and the main menu as one message body (no receiver: it is the
        HTTP answer to ``conversation_started``)."""
        inbound = Inbound(
            channel=CHANNEL,
            user_id=callback.who,
            message_id=f"open:{callback.token}",
            payload=GREETING,
            display_name=clean_optional(callback.display_name),
        )
        result = await self._engine.handle(inbound)
        replies = result.replies or [Reply(text="")]
        merged = Reply(
            text="\n\n".join(r.text.strip() for r in replies if r.text.strip())[:TEXT_LIMIT],
            buttons=tuple(b for r in replies for b in r.buttons),
            ask_phone=any(r.wants_shared_contact for r in replies),
        )
        messages = render([merged], self.config.sender)
        if not messages:
            return {}
        message = messages[-1]
        if "keyboard" in message.body:
            await self.state.remember_keyboard(callback.who, message.keyboard_payloads, asks_phone=message.asks_phone)
        return message.body

    async def intake(self, callback: Callback) -> None:
        """Take a message for processing: once per ``message_token``, in the background,
        in order per subscriber. (A durable inbox can replace this one step.)"""
        if not await self._claim_quickly(callback.token):
            log.info("Viber message %s was already taken; skipped", callback.token)
            return
        self._work.submit(callback.who, lambda: self._process(callback))

    async def _record(self, callback: Callback, raw: Any) -> bool:
        """Into the inbox before the 200 (a retry of Viber collapses into the same row);
        False when the database cannot take it (the webhook answers 503, Viber retries)."""
        try:
            await self._durable.record(callback.token, f"{CHANNEL}:{callback.who}", json.dumps(raw))
        except Exception as error:  # noqa: BLE001 - not recorded: not acknowledged
            log.error("Viber message %s not recorded: %s", callback.token, type(error).__name__)
            return False
        return True

    async def _process_recorded(self, item: InboxItem) -> None:
        """The inbox worker's handler: one recorded message, here and now. The row is
        done when this returns; a failure (say, Redis away before the engine's turn)
        raises, and the inbox retries the message with a backoff instead of marking it
        done unanswered. A retry of an answered message is answered from the engine's record."""
        await self._process(parse_callback(json.loads(item.payload)), raise_errors=True)

    async def _claim_quickly(self, token: str) -> bool:
        """A slow StateStore must not hold the webhook answer; on failure the message is
        processed anyway (the engine de-duplicates by message id too)."""
        try:
            return await asyncio.wait_for(self.state.claim_message(token), self.claim_timeout)
        except Exception as error:  # noqa: BLE001
            log.warning("Viber message %s: de-duplication unavailable (%s)", token, type(error).__name__)
            return True

    async def _process(self, callback: Callback, *, raise_errors: bool = False) -> None:
        async with self._slots:
            try:
                await asyncio.wait_for(self.converse(callback), self.processing_timeout)
            except Exception as error:  # noqa: BLE001 - logged; raised only to a caller that retries
                log.error("Viber message %s not processed: %s", callback.token, type(error).__name__)
                if raise_errors:
                    raise

    async def converse(self, callback: Callback) -> None:
        """One subscriber message through the engine; the replies back to the subscriber."""
        user_id = callback.who
        await self.state.note_inbound(user_id, self._clock())
        await self.state.mark_subscribed(user_id)  # only a subscriber can write to the bot
        inbound = await self.inbound_of(callback)
        if inbound is None:
            self._log_failure(await self.sender.say(user_id, NOT_TEXT_NOTE))
            return
        result = await self._engine.handle(inbound)
        if result.duplicate or not result.replies:
            return  # already answered, or an agent holds the conversation
        self._log_failure(
            await send_replies(self.sender, self._outbox, user_id, result.replies, message_id=callback.token)
        )

    async def inbound_of(self, callback: Callback) -> Inbound | None:
        """The engine's view of a message; None for what it cannot read (pictures, stickers...)."""
        message = callback.message
        common = dict(
            channel=CHANNEL,
            user_id=callback.who,
            message_id=callback.token,
            # Cleaned at the adapter boundary: a NUL must not reach PostgreSQL (bots.text).
            display_name=clean_optional(callback.display_name),
        )
        shown, asked_phone = await self.state.keyboard(callback.who)
        if message.type == "contact" and message.contact is not None:
            phone = shared_phone_e164(message.contact.phone_number)
            if phone is None:
                return None
            if asked_phone:
                # The reply to our share-phone button: Viber vouches for the number.
                return Inbound(**common, vouched_phone=phone)
            return Inbound(**common, text=phone)  # a contact card: just a number, in effect
        if message.type != "text" or not (message.text or "").strip():
            return None
        text = clean_optional(message.text)
        if not text.strip():
            return None
        if text in shown | payloads_from_tracking_data(message.tracking_data):
            return Inbound(**common, payload=text)
        return Inbound(**common, text=text)

    async def _record_receipt(self, callback: Callback) -> None:
        if self._receipts is None or not callback.token:
            return
        try:
            await self._receipts.record(
                CHANNEL,
                callback.token,
                RECEIPT_STATUS[callback.event],
                error_message=callback.desc,
                conversation_key=f"{CHANNEL}:{callback.who}",
            )
        except Exception as error:  # noqa: BLE001 - a lost receipt must not make Viber retry forever
            log.warning("Viber: receipt %s not recorded: %s", callback.event, type(error).__name__)

    @staticmethod
    def _log_failure(result: DeliveryResult) -> None:
        if not result.sent:
            log.error("Viber: reply not delivered: %s", result.detail or result.reason)

    async def would_start_paid_session(self, user_id: str) -> bool:
        return await self.sender.would_start_paid_session(user_id)


def channel_from_settings(settings: Any, **options: Any) -> ViberChannel | None:
    """On when ``VIBER_AUTH_TOKEN`` is set."""
    if not getattr(settings, "viber_auth_token", None):
        return None
    return ViberChannel(ViberConfig.from_settings(settings), **options)
