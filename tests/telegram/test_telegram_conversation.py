"""The conversation side: every kind of subscriber message reaches the engine through
one ``converse`` as an Inbound that says how it came; the password-carrying message is
deleted when the channel can delete, and a refused deletion does not stop the dialog.

The real app and dialog engine (demo subscribers), Update JSON in, the Bot API double out.
"""

from __future__ import annotations

import logging

import pytest
from aiogram.types import Update

from bots.telegram.conversation import Conversation
from bots.telegram.rendering import CallbackCodec
from bots.telegram.state import TelegramState
from dialogs.messages import BUTTON, CONTACT, TYPED, Inbound, TurnResult
from tests.telegram.harness import SUBSCRIBER_ID, joined, telegram_app, telegram_settings, texts_of

ACCOUNT, PASSWORD, PHONE = "1000002", "demo2", "79000000002"


class RecordingEngine:
    """The real engine, remembering the Inbound messages it was given."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.inbounds: list[Inbound] = []

    async def handle(self, inbound: Inbound) -> TurnResult:
        self.inbounds.append(inbound)
        return await self.engine.handle(inbound)

    def __getattr__(self, name: str):
        return getattr(self.engine, name)


@pytest.fixture
async def tg(sqlite_url, bot_api, tmp_path):
    settings = telegram_settings(sqlite_url, bot_api, tmp_path)
    async with telegram_app(settings, bot_api, demo=True, wrap_engine=RecordingEngine) as harness:
        yield harness


def inbounds(tg) -> list[Inbound]:
    return tg.container.engine.inbounds


async def test_text_command_button_and_contacts_reach_the_engine_saying_how_they_came(tg):
    deliveries = [
        tg.updates.text("/start"),
        tg.updates.text("как оплатить"),
        None,  # a press on the newest "Сбербанк Онлайн" button
        tg.updates.own_contact(PHONE),
        tg.updates.contact("+7 916 123-45-67", user_id=987654321),  # someone else's card
    ]
    for update in deliveries:
        if update is None:
            data, message = tg.find_button("Сбербанк Онлайн")
            update = tg.updates.callback(data, message=message)
            deliveries[deliveries.index(None)] = update
        await tg.deliver(update)

    got = inbounds(tg)
    assert [inbound.via for inbound in got] == [BUTTON, TYPED, BUTTON, CONTACT, TYPED]
    assert [inbound.message_id for inbound in got] == [str(u["update_id"]) for u in deliveries]
    assert all(inbound.channel == "telegram" and inbound.user_id == str(SUBSCRIBER_ID) for inbound in got)
    assert all(inbound.display_name == "Иван Петров" for inbound in got)  # the subscriber, never the bot

    command, typed, button, own, foreign = got
    assert command.payload and "greet" in command.payload and command.text is None
    assert typed.text == "как оплатить" and typed.payload is None
    assert button.payload and "sber" in button.payload.lower() and button.text is None
    assert own.vouched_phone == "+79000000002" and own.text is None
    assert foreign.text == "+79161234567" and foreign.vouched_phone is None  # not vouched for


async def test_a_refused_deletion_of_the_password_message_does_not_stop_the_dialog(tg, caplog):
    caplog.set_level(logging.DEBUG)
    await tg.say("какой у меня баланс")
    await tg.say(ACCOUNT)
    tg.api.fail_next_with("deleteMessage", 400, "Bad Request: message can't be deleted for everyone")

    calls = await tg.deliver(tg.updates.text(PASSWORD))

    assert [call.method for call in calls].count("deleteMessage") == 1
    answer = joined(texts_of(calls))
    assert "Баланс: 50" in answer and ACCOUNT in answer
    assert "could not delete a secret-carrying message" in caplog.text
    assert PASSWORD not in caplog.text


async def test_a_channel_that_cannot_delete_leaves_the_password_message(tg):
    await tg.say("какой у меня баланс")
    await tg.say(ACCOUNT)
    channel = tg.channel
    conversation = Conversation(
        "telegram",
        tg.container.engine,
        channel.bot,
        channel.sender,
        CallbackCodec(tg.container.store),
        TelegramState(tg.container.store),
        can_delete_messages=False,
    )
    raw = tg.updates.text(PASSWORD)
    update = Update.model_validate(raw, context={"bot": channel.bot})
    start = len(tg.api.calls)

    await conversation.converse(update.update_id, update.message, via=TYPED, text=PASSWORD)

    methods = [call.method for call in tg.api.calls[start:]]
    assert "deleteMessage" not in methods
    assert "Баланс: 50" in joined(tg.api.sent_texts(SUBSCRIBER_ID))
    assert inbounds(tg)[-1].via == TYPED

