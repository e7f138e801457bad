"""Outbound Viber: bot replies and agents' messages to one subscriber.

Before anything goes out the sender checks, in this order, what Viber would refuse or
bill: an unsubscribed subscriber gets nothing; a message more than 24 hours after the
subscriber last wrote opens a paid chatbot-initiated session (sent only when the
settings allow it, and the result says so); at most ``unanswered_limit`` messages an
hour go to a subscriber who has not replied. Viber's own refusals come back as a failed
:class:`DeliveryResult` with a Russian reason for the agent.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Sequence

from bots.viber.api import NOT_SUBSCRIBED, TOO_MANY_REQUESTS, ViberApi, ViberRefused, ViberUnavailable
from bots.viber.config import SESSION_WINDOW, ViberConfig
from bots.viber.rendering import render
from bots.viber.state import ViberState
from bots.viber import texts
from dialogs.delivery import DeliveryResult
from dialogs.messages import Reply
from storage.clock import Clock, utc_now

log = logging.getLogger(__name__)


class ViberSender:
    """The Viber channel's :class:`dialogs.delivery.Sender`."""

    channel = "viber"

    def __init__(self, api: ViberApi, state: ViberState, config: ViberConfig, *, clock: Clock = utc_now) -> None:
        self.api = api
        self.state = state
        self.config = config
        self.clock = clock

    async def would_start_paid_session(self, user_id: str) -> bool:
        """True when a message now would be chatbot-initiated outside the subscriber's
        24-hour session (billed by Viber): the console warns the agent."""
        last = await self.state.last_inbound(user_id)
        return last is None or self.clock().timestamp() - last > SESSION_WINDOW.total_seconds()

    async def advise(self, user_id: str) -> str | None:
        """What the agent should know before writing (see ``dialogs.delivery``)."""
        if await self.state.is_unsubscribed(user_id):
            return texts.NOT_SUBSCRIBED
        if await self.would_start_paid_session(user_id):
            return texts.PAID_ADVICE if self.config.allow_paid_messages else texts.PAID_REFUSED
        return None

    async def send(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        if await self.state.is_unsubscribed(user_id):
            return DeliveryResult.failed(texts.NOT_SUBSCRIBED, detail="unsubscribed")
        messages = render(replies, self.config.sender)
        if not messages:
            return DeliveryResult.ok()
        paid = await self.would_start_paid_session(user_id)
        if paid and not self.config.allow_paid_messages:
            return DeliveryResult.failed(texts.PAID_REFUSED, detail="outside the 24-hour session; paid messages are off")

        tokens: list[str] = []
        for message in messages:
            if await self.state.count_outbound(user_id) > self.config.unanswered_limit:
                return _after(tokens, DeliveryResult.failed(
                    texts.UNANSWERED_LIMIT.format(limit=self.config.unanswered_limit),
                    retryable=True,
                    detail=f"over {self.config.unanswered_limit} unanswered messages this hour",
                ))
            try:
                tokens.append(await self.api.send_message({"receiver": user_id, **message.body}))
            except ViberRefused as error:
                return _after(tokens, await self._refused(user_id, error))
            except ViberUnavailable as error:
                return _after(tokens, DeliveryResult.failed(texts.UNREACHABLE, retryable=True, detail=str(error)))
            if "keyboard" in message.body:
                await self.state.remember_keyboard(user_id, message.keyboard_payloads, asks_phone=message.asks_phone)
            else:
                await self.state.forget_keyboard(user_id)
        result = DeliveryResult.ok(*tokens)
        if paid:
            return DeliveryResult("sent", provider_message_ids=result.provider_message_ids, detail=texts.PAID_NOTE)
        return result

    async def _refused(self, user_id: str, error: ViberRefused) -> DeliveryResult:
        detail = f"Viber status {error.status}: {error.message}"
        if error.status in NOT_SUBSCRIBED:
            await self.state.mark_unsubscribed(user_id)
            return DeliveryResult.failed(texts.NOT_SUBSCRIBED, detail=detail)
        if error.status == TOO_MANY_REQUESTS:
            return DeliveryResult.failed(texts.TOO_MANY_REQUESTS, retryable=True, detail=detail)
        return DeliveryResult.failed(texts.REFUSED.format(error=error.message or f"код {error.status}"), detail=detail)

    async def say(self, user_id: str, text: str) -> DeliveryResult:
        return await self.send(user_id, [Reply(text=text)])


def _after(tokens: list[str], failure: DeliveryResult) -> DeliveryResult:
    """A refusal that names what went out before it (a retry must not repeat that)."""
    return replace(failure, provider_message_ids=tuple(tokens))
