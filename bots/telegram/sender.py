"""Outbound Telegram: bot replies and agents' messages to one subscriber."""

from __future__ import annotations

from typing import Sequence

from aiogram import Bot

from bots.telegram.rendering import ReplyRenderer
from dialogs.messages import Reply


def chat_id_for_api(user_id: str) -> int | str:
    """Our user id is the private chat id as text; the Bot API wants the integer."""
    try:
        return int(user_id)
    except ValueError:
        return user_id  # "@channelusername" style ids pass through


class TelegramSender:
    """``ChannelSender`` for Telegram (registered in ``container.delivery``).

    Flood control (429 ``retry_after``) is honoured by the bot's session middleware.
    Telegram errors (the subscriber blocked the bot, ...) reach the caller.
    """

    channel = "telegram"

    def __init__(self, bot: Bot, renderer: ReplyRenderer) -> None:
        self.bot = bot
        self.renderer = renderer

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        for message in await self.renderer.render(user_id, replies):
            await self.bot.send_message(
                chat_id=chat_id_for_api(user_id),
                text=message.text,
                reply_markup=message.reply_markup,
            )

    async def say(self, user_id: str, text: str) -> None:
        """A plain note from the adapter itself (group note, "text only", ...)."""
        await self.send(user_id, [Reply(text=text)])
