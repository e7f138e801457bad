"""Engine replies in Telegram's idiom: inline keyboards for buttons, a reply keyboard
with a "share my phone" button when the engine asks for the phone, and removing that
keyboard once it is no longer wanted.

Telegram limits callback data to 64 bytes. A payload that fits travels as is
(``p:<payload>``); a longer one (Cyrillic entity values grow six-fold when URL-encoded)
is kept in the StateStore and the button carries its digest (``h:<digest>``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bots.telegram.state import STORED_PAYLOAD_TTL, TelegramState
from bots.telegram.texts import CHOOSE_PROMPT, MORE_CHOICES_PROMPT, SHARE_PHONE_BUTTON
from dialogs.messages import Button, Reply
from dialogs.state.base import StateStore

CALLBACK_DATA_LIMIT = 64  # bytes, Bot API
MESSAGE_TEXT_LIMIT = 4096  # characters, Bot API
PLAIN_PREFIX = "p:"
STORED_PREFIX = "h:"

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message to send."""

    text: str
    reply_markup: Markup | None = None


class CallbackCodec:
    """Button payload <-> callback_data within Telegram's 64-byte limit."""

    def __init__(self, store: StateStore, *, ttl: float = STORED_PAYLOAD_TTL) -> None:
        self.state = TelegramState(store)
        self.ttl = ttl

    async def encode(self, payload: str) -> str:
        plain = PLAIN_PREFIX + payload
        if len(plain.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
            return plain
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        await self.state.keep_payload(digest, payload, ttl=self.ttl)
        return STORED_PREFIX + digest

    async def decode(self, data: str | None) -> str | None:
        """The payload, or None for data this bot did not issue or has forgotten."""
        if not data:
            return None
        if data.startswith(PLAIN_PREFIX):
            return data[len(PLAIN_PREFIX) :] or None
        if data.startswith(STORED_PREFIX):
            return await self.state.kept_payload(data[len(STORED_PREFIX) :])
        return None


def split_text(text: str, limit: int = MESSAGE_TEXT_LIMIT) -> list[str]:
    """Telegram rejects messages over 4096 characters: cut at line breaks where possible."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def share_phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=SHARE_PHONE_BUTTON, request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


class ReplyRenderer:
    """Turns the replies of one turn into Telegram messages for one chat.

    Remembers (in the StateStore) that the chat shows the share-phone keyboard, so the
    next turn that does not ask for the phone removes it.
    """

    def __init__(self, store: StateStore, codec: CallbackCodec | None = None) -> None:
        self.state = TelegramState(store)
        self.codec = codec or CallbackCodec(store)

    async def inline_keyboard(self, buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
        if not buttons:
            return None
        rows = [
            [InlineKeyboardButton(text=button.title, callback_data=await self.codec.encode(button.payload))]
            for button in buttons
        ]
        return InlineKeyboardMarkup(inline_keyboard=rows)

    async def render(self, chat_id: str, replies: Sequence[Reply]) -> list[Outgoing]:
        keyboard_shown = await self.state.keyboard_shown(chat_id)
        asks_phone = any(reply.wants_shared_contact for reply in replies)

        messages: list[Outgoing] = []
        for reply in replies:
            messages.extend(await self._render_one(reply))

        if asks_phone:
            await self.state.mark_keyboard_shown(chat_id)
        elif keyboard_shown and messages:
            messages = _with_keyboard_removed(messages)
            await self.state.forget_keyboard(chat_id)
        return messages

    async def _render_one(self, reply: Reply) -> list[Outgoing]:
        inline = await self.inline_keyboard(reply.buttons)
        text = reply.text.strip() or (CHOOSE_PROMPT if inline else "")
        if not text and not reply.wants_shared_contact:
            return []
        chunks = split_text(text or CHOOSE_PROMPT)
        head = [Outgoing(chunk) for chunk in chunks[:-1]]
        if reply.wants_shared_contact:
            # One message carries one keyboard: the question gets the share-phone
            # keyboard and the engine's buttons follow in a short second message.
            tail = [Outgoing(chunks[-1], share_phone_keyboard())]
            if inline:
                tail.append(Outgoing(MORE_CHOICES_PROMPT, inline))
            return head + tail
        return head + [Outgoing(chunks[-1], inline)]


def _with_keyboard_removed(messages: list[Outgoing]) -> list[Outgoing]:
    """Attach ReplyKeyboardRemove to the first message without a keyboard; if every
    message has inline buttons, move the first one's buttons to a follow-up prompt."""
    for index, message in enumerate(messages):
        if message.reply_markup is None:
            return [*messages[:index], Outgoing(message.text, ReplyKeyboardRemove()), *messages[index + 1 :]]
    first, rest = messages[0], messages[1:]
    return [Outgoing(first.text, ReplyKeyboardRemove()), Outgoing(CHOOSE_PROMPT, first.reply_markup), *rest]
