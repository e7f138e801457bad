"""aiogram handlers: Telegram events -> ``Inbound`` for the dialog engine.

No dialog logic lives here: a handler only decides which kind of event it is (text,
button, shared contact, command, something we do not read) and hands it over to
the ``Conversation`` (``bots.telegram.conversation``) found in the dispatcher's
workflow data.

Edited messages are not re-read: an edit of an account number or a request that was
already answered would run the same step twice, so the bot politely asks to send the
corrected text as a new message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, Update

from bots.telegram.commands import COMMAND_PAYLOADS
from bots.telegram.phones import to_e164
from bots.telegram.texts import EDITED_NOTE, NOT_TEXT_NOTE, STALE_BUTTON_NOTE
from dialogs.messages import BUTTON, CONTACT, TYPED

if TYPE_CHECKING:
    from bots.telegram.conversation import Conversation

PRIVATE = F.chat.type == ChatType.PRIVATE


def build_router() -> Router:
    """The handlers; each gets ``conversation`` from the dispatcher's workflow data."""
    router = Router(name="isp-support-telegram")

    @router.message(~PRIVATE)
    async def in_group(message: Message, conversation: Conversation) -> None:
        await conversation.note_group_chat(str(message.chat.id))

    @router.message(Command(*COMMAND_PAYLOADS))
    async def on_command(
        message: Message, command: CommandObject, conversation: Conversation, event_update: Update
    ) -> None:
        # A command means what the menu button with the same payload means.
        payload = COMMAND_PAYLOADS[command.command]
        await conversation.converse(event_update.update_id, message, via=BUTTON, payload=payload)

    @router.message(F.contact)
    async def on_contact(message: Message, conversation: Conversation, event_update: Update) -> None:
        contact = message.contact
        phone = to_e164(contact.phone_number)
        own = message.from_user is not None and contact.user_id == message.from_user.id
        if own and phone:
            # Telegram vouches for the number only when the sender shares their own contact.
            await conversation.converse(event_update.update_id, message, via=CONTACT, vouched_phone=phone)
        else:
            # Someone else's card: just a number the subscriber typed, in effect.
            text = phone or contact.phone_number
            await conversation.converse(event_update.update_id, message, via=TYPED, text=text)

    @router.message(F.text)
    async def on_text(message: Message, conversation: Conversation, event_update: Update) -> None:
        await conversation.converse(event_update.update_id, message, via=TYPED, text=message.text)

    @router.message()
    async def on_anything_else(message: Message, conversation: Conversation) -> None:
        # Stickers, photos, voice, files, locations...: the engine reads text only.
        await conversation.say(str(message.chat.id), NOT_TEXT_NOTE)

    @router.edited_message(PRIVATE)
    async def on_edited(message: Message, conversation: Conversation) -> None:
        await conversation.say(str(message.chat.id), EDITED_NOTE)

    @router.callback_query()
    async def on_button(callback: CallbackQuery, conversation: Conversation, event_update: Update) -> None:
        # Answer first: it stops the spinner on the button whatever happens next.
        await conversation.answer_callback(callback)
        message = callback.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return  # an inline-mode or group button: not ours to handle
        payload = await conversation.payload_of(callback.data)
        if payload is None:
            await conversation.say(str(message.chat.id), STALE_BUTTON_NOTE)
            return
        await conversation.converse(event_update.update_id, callback, via=BUTTON, payload=payload)

    return router
