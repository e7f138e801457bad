"""aiogram handlers: Telegram events -> ``Inbound`` for the dialog engine.

No dialog logic lives here: a handler only decides which kind of event it is (text,
button, shared contact, command, something we do not read) and hands it over to
``TelegramChannel``.

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

if TYPE_CHECKING:
    from bots.telegram.channel import TelegramChannel

PRIVATE = F.chat.type == ChatType.PRIVATE


def build_router() -> Router:
    router = Router(name="isp-support-telegram")

    @router.message(~PRIVATE)
    async def in_group(message: Message, channel: TelegramChannel) -> None:
        await channel.note_group_chat(str(message.chat.id))

    @router.message(Command(*COMMAND_PAYLOADS))
    async def on_command(
        message: Message, command: CommandObject, channel: TelegramChannel, event_update: Update
    ) -> None:
        await channel.converse(message, event_update.update_id, payload=COMMAND_PAYLOADS[command.command])

    @router.message(F.contact)
    async def on_contact(message: Message, channel: TelegramChannel, event_update: Update) -> None:
        contact = message.contact
        phone = to_e164(contact.phone_number)
        own = message.from_user is not None and contact.user_id == message.from_user.id
        if own and phone:
            # Telegram vouches for the number only when the sender shares their own contact.
            await channel.converse(message, event_update.update_id, vouched_phone=phone)
        else:
            # Someone else's card: just a number the subscriber typed, in effect.
            await channel.converse(message, event_update.update_id, text=phone or contact.phone_number)

    @router.message(F.text)
    async def on_text(message: Message, channel: TelegramChannel, event_update: Update) -> None:
        await channel.converse(message, event_update.update_id, text=message.text)

    @router.message()
    async def on_anything_else(message: Message, channel: TelegramChannel) -> None:
        # Stickers, photos, voice, files, locations...: the engine reads text only.
        await channel.say(str(message.chat.id), NOT_TEXT_NOTE)

    @router.edited_message(PRIVATE)
    async def on_edited(message: Message, channel: TelegramChannel) -> None:
        await channel.say(str(message.chat.id), EDITED_NOTE)

    @router.callback_query()
    async def on_button(callback: CallbackQuery, channel: TelegramChannel, event_update: Update) -> None:
        # Answer first: it stops the spinner on the button whatever happens next.
        await channel.answer_callback(callback)
        message = callback.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return  # an inline-mode or group button: not ours to handle
        payload = await channel.renderer.codec.decode(callback.data)
        if payload is None:
            await channel.say(str(message.chat.id), STALE_BUTTON_NOTE)
            return
        await channel.converse_button(callback, event_update.update_id, payload=payload)

    return router
