"""Outbound WhatsApp through Twilio's Messages API: bot replies and agents' messages.

Inside the 24-hour window replies go as rendered (bodies, quick-reply templates);
after it closed only the approved window template may go, and without one the
message fails with a reason the agent can act on. Twilio's refusals become failed
results with Russian reasons; 429, 5xx and network trouble are ``retryable``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Callable, Sequence

from aiohttp import ClientError
from twilio.base.exceptions import TwilioException, TwilioRestException

from bots.twilio_rest import REQUEST_TIMEOUT_SECONDS, TwilioRest
from bots.whatsapp.config import ADDRESS_PREFIX, STATUS_PATH, WhatsAppConfig
from bots.whatsapp.rendering import Outgoing, WhatsAppRenderer
from bots.whatsapp.state import WhatsAppState
from bots.whatsapp.texts import (
    RETRYABLE_CODES,
    UNREACHABLE,
    WINDOW_CLOSED_ADVICE,
    WINDOW_CLOSED_NO_TEMPLATE,
    reason_for,
)
from dialogs.delivery import DeliveryResult
from dialogs.messages import Reply

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"


def _failed(reason: str, sent: list[str], *, retryable: bool = False, detail: str | None = None) -> DeliveryResult:
    # Keeps the ids of the pieces that did go out before the refusal.
    return DeliveryResult("failed", reason=reason, retryable=retryable, provider_message_ids=tuple(sent), detail=detail)


class WhatsAppSender:
    """The WhatsApp channel's :class:`dialogs.delivery.Sender`; ``user_id`` is the
    subscriber's E.164 number."""

    channel = CHANNEL

    def __init__(
        self,
        rest: TwilioRest,
        config: WhatsAppConfig,
        state: WhatsAppState,
        renderer: WhatsAppRenderer,
        clock: Callable[[], datetime],
    ) -> None:
        self.rest = rest
        self.config = config
        self.state = state
        self.renderer = renderer
        self.clock = clock

    async def advise(self, user_id: str) -> str | None:
        """What the agent should know before writing (see ``dialogs.delivery``): after the
        24-hour window only the template goes, or nothing when none is configured."""
        if await self.state.window_open(user_id, self.clock()):
            return None
        return WINDOW_CLOSED_ADVICE if self.config.window_content_sid else WINDOW_CLOSED_NO_TEMPLATE

    async def send(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        if not replies:
            return DeliveryResult.ok()
        if await self.state.window_open(user_id, self.clock()):
            rendered = self.renderer.render(replies, self.state.new_menu_token())
            # Remembered before sending: the subscriber may answer the first piece at once.
            await self.state.remember_menu(user_id, rendered.menu_token, rendered.menu)
            messages = rendered.messages
        else:
            messages = self.renderer.window_template(replies)
            if messages is None:
                log.info("WhatsApp: the 24-hour window is closed and no template is configured")
                return DeliveryResult.failed(WINDOW_CLOSED_NO_TEMPLATE, detail="24-hour window closed, no template")
        return await self._post_all(user_id, messages)

    async def _post_all(self, user_id: str, messages: list[Outgoing]) -> DeliveryResult:
        sent: list[str] = []
        for message in messages:
            try:
                created = await asyncio.wait_for(self._post(user_id, message), REQUEST_TIMEOUT_SECONDS)
            except TwilioRestException as error:
                passing = error.status == 429 or error.status >= 500 or error.code in RETRYABLE_CODES
                detail = f"Twilio {error.status} {error.code}: {error.msg}"
                log.warning("WhatsApp message refused: %s", detail)
                reason = UNREACHABLE if passing else reason_for(error.code)
                return _failed(reason, sent, retryable=passing, detail=detail)
            except (TwilioException, ClientError, asyncio.TimeoutError) as error:
                log.warning("WhatsApp: Twilio not reachable: %s", type(error).__name__)
                return _failed(UNREACHABLE, sent, retryable=True, detail=type(error).__name__)
            if created.error_code:  # accepted, but already failed (rare)
                return _failed(reason_for(created.error_code), sent + [created.sid], detail=f"Twilio {created.error_code}")
            sent.append(created.sid)
        return DeliveryResult.ok(*sent)

    async def _post(self, user_id: str, message: Outgoing):
        options: dict = {}
        callback = self.config.public_url(STATUS_PATH)
        if callback:
            options["status_callback"] = callback
        if message.content_sid:
            options["content_sid"] = message.content_sid
            options["content_variables"] = json.dumps(message.content_variables or {}, ensure_ascii=False)
        else:
            options["body"] = message.body
        return await self.rest.client.messages.create_async(
            to=f"{ADDRESS_PREFIX}{user_id}", from_=f"{ADDRESS_PREFIX}{self.config.from_number}", **options
        )
