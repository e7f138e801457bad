"""Outbound Telegram: bot replies and agents' messages to one subscriber."""

from __future__ import annotations

from typing import Sequence

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bots.telegram.errors import describe_error
from bots.telegram.rendering import ReplyRenderer
from dialogs.delivery import DeliveryResult
from dialogs.messages import Reply

# What an agent reads when a message did not reach the subscriber.
BLOCKED = "Абонент заблокировал бота в Telegram: сообщение не доставлено."
REFUSED = "Telegram отказал в доставке: {error}"
UNREACHABLE = "Telegram сейчас недоступен; повторите позже."


def chat_id_for_api(user_id: str) -> int | str:
    """Our user id is the private chat id as text; the Bot API wants the integer."""
    try:
        return int(user_id)
    except ValueError:
        return user_id  # "@channelusername" style ids pass through


def _failed(reason: str, sent: list[str], *, retryable: bool = False, detail: str | None = None) -> DeliveryResult:
    """A refusal that names what went out before it (a retry must not repeat that)."""
    return DeliveryResult("failed", reason=reason, retryable=retryable, provider_message_ids=tuple(sent), detail=detail)


class TelegramSender:
    """The Telegram channel's :class:`dialogs.delivery.Sender`.

    Flood control (429 ``retry_after``) is honoured by the bot's session middleware.
    Telegram's refusals come back as a failed :class:`DeliveryResult` with a reason an
    agent can act on (the subscriber blocked the bot, the chat is gone, ...).
    """

    channel = "telegram"

    def __init__(self, bot: Bot, renderer: ReplyRenderer) -> None:
        self.bot = bot
        self.renderer = renderer

    async def send(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        sent: list[str] = []
        for message in await self.renderer.render(user_id, replies):
            try:
                result = await self.bot.send_message(
                    chat_id=chat_id_for_api(user_id),
                    text=message.text,
                    reply_markup=message.reply_markup,
                )
            except TelegramForbiddenError as error:
                return _failed(BLOCKED, sent, detail=describe_error(error))
            except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as error:
                return _failed(UNREACHABLE, sent, retryable=True, detail=describe_error(error))
            except TelegramAPIError as error:  # a bad request and the rest: final
                return _failed(REFUSED.format(error=error.message), sent, detail=describe_error(error))
            sent.append(str(result.message_id))
        return DeliveryResult.ok(*sent)

    async def say(self, user_id: str, text: str) -> DeliveryResult:
        """A plain note from the adapter itself (group note, "text only", ...)."""
        return await self.send(user_id, [Reply(text=text)])
