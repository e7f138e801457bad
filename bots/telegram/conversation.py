"""The conversation side of the Telegram adapter: what the handlers do with an event
once they know its kind.

* :meth:`Conversation.converse` — one subscriber message (typed text, a button press,
  a shared contact) through the dialog engine and the replies back to the chat; the
  message that carried a password is deleted;
* the adapter's own short notes (group chat, "text only", edits, stale buttons);
* :meth:`Conversation.payload_of` — the payload behind a button's callback data.

The handlers get it from the dispatcher's workflow data (``conversation``), so they
never see the channel object.
"""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message

from bots.channel import TurnHandler
from bots.replies import send_replies
from bots.telegram.errors import describe_error
from bots.telegram.rendering import CallbackCodec
from bots.telegram.sender import TelegramSender
from bots.telegram.state import TelegramState
from bots.telegram.texts import GROUP_CHAT_NOTE
from bots.text import clean_optional
from dialogs.delivery import DeliveryResult
from dialogs.messages import Inbound

if TYPE_CHECKING:
    from bots.outbox import Outbox

log = logging.getLogger(__name__)

# The dispatcher's workflow-data name; aiogram hands it to every handler that has a
# parameter of this name.
WORKFLOW_KEY = "conversation"


@dataclass
class Conversation:
    """Engine turns and the adapter's own notes for the handlers of one bot."""

    channel_name: str
    engine: TurnHandler
    bot: Bot
    sender: TelegramSender
    codec: CallbackCodec
    state: TelegramState
    _: KW_ONLY
    can_delete_messages: bool
    # Replies refused for a passing reason are retried from here (None: not retried).
    outbox: "Outbox | None" = None

    async def converse(
        self,
        update_id: int,
        event: Message | CallbackQuery,
        *,
        via: str,
        text: str | None = None,
        payload: str | None = None,
        vouched_phone: str | None = None,
    ) -> None:
        """One subscriber message through the engine; the replies back to the chat.

        ``event`` is the subscriber's message, or the button press (whose message is
        the bot's own: its chat is the conversation, and there is nothing of the
        subscriber's to delete). ``via`` is how it came (``dialogs.messages``).
        """
        if isinstance(event, CallbackQuery):
            chat_id, own_message_id = event.message.chat.id, None
        else:
            chat_id, own_message_id = event.chat.id, event.message_id
        user = event.from_user
        inbound = Inbound(
            channel=self.channel_name,
            user_id=str(chat_id),
            message_id=str(update_id),
            # Cleaned at the adapter boundary: a NUL must not reach PostgreSQL (bots.text).
            text=clean_optional(text),
            payload=clean_optional(payload),
            vouched_phone=vouched_phone,
            display_name=clean_optional(user.full_name) if user else None,
            via=via,
        )
        result = await self.engine.handle(inbound)
        if result.inbound_was_secret and own_message_id is not None and self.can_delete_messages:
            await self._delete_quietly(chat_id, own_message_id)
        if result.duplicate or not result.replies:
            return  # already answered, or an agent holds the conversation
        self._log_failure(
            await send_replies(self.sender, self.outbox, inbound.user_id, result.replies, message_id=inbound.message_id)
        )

    async def payload_of(self, callback_data: str | None) -> str | None:
        """The payload of a button this bot issued; None for foreign or forgotten data."""
        return await self.codec.decode(callback_data)

    async def answer_callback(self, callback: CallbackQuery) -> None:
        try:
            await self.bot.answer_callback_query(callback.id)
        except TelegramAPIError as error:  # e.g. "query is too old": the reply still goes out
            log.info("Telegram: callback answer failed: %s", describe_error(error))

    async def say(self, chat_id: str, text: str) -> None:
        """A note from the adapter itself, without the engine."""
        self._log_failure(await self.sender.say(chat_id, text))

    async def note_group_chat(self, chat_id: str) -> None:
        """In a group the bot says only "write me in private", and not on every message."""
        if await self.state.claim_group_note(chat_id):
            await self.say(chat_id, GROUP_CHAT_NOTE)

    @staticmethod
    def _log_failure(result: DeliveryResult) -> None:
        if not result.sent:
            log.error("Telegram: reply not delivered: %s", result.detail or result.reason)

    async def _delete_quietly(self, chat_id: int, message_id: int) -> None:
        """Remove the message that carried a password. It may be gone or too old to
        delete; that is logged (without content) and the dialog goes on."""
        try:
            await self.bot.delete_message(chat_id=chat_id, message_id=message_id)
        except TelegramAPIError as error:
            log.warning("Telegram: could not delete a secret-carrying message: %s", describe_error(error))
