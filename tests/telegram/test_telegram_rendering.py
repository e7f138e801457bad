"""Replies → Telegram messages: callback data within 64 bytes, the share-phone keyboard
and its removal, long texts, phone normalisation."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bots.telegram.phones import to_e164
from bots.telegram.rendering import CallbackCodec, ReplyRenderer, split_text
from dialogs import payloads
from dialogs.messages import Button, Reply


async def test_short_payloads_travel_inline_and_long_ones_by_digest(state_store):
    codec = CallbackCodec(state_store)
    short = payloads.make("balance")
    # Cyrillic takes two bytes a letter: a city and a department already pass 64 bytes.
    long = payloads.make(payloads.INFORM, city="Петропавловск-Камчатский", department="subscriber")
    assert len(long.encode()) > 64

    short_data = await codec.encode(short)
    long_data = await codec.encode(long)

    assert short_data == "p:balance"
    assert len(long_data.encode()) <= 64
    assert await codec.decode(short_data) == short
    assert await codec.decode(long_data) == long
    assert await codec.encode(long) == long_data  # the same button, the same data


async def test_forgotten_or_foreign_callback_data_decodes_to_none(state_store):
    codec = CallbackCodec(state_store)
    for data in (None, "", "balance", "p:", "h:ffffffffffffffffffffffffffffffff"):
        assert await codec.decode(data) is None


async def test_ask_phone_shows_a_contact_keyboard_and_the_next_turn_removes_it(state_store):
    renderer = ReplyRenderer(state_store)
    ask = Reply("На какой номер перезвонить?", buttons=(Button("Отмена", "cancel"),), ask_phone=True)

    first = await renderer.render("42", [ask])
    assert isinstance(first[0].reply_markup, ReplyKeyboardMarkup)
    contact_button = first[0].reply_markup.keyboard[0][0]
    assert contact_button.request_contact is True
    assert isinstance(first[1].reply_markup, InlineKeyboardMarkup)  # the engine's buttons follow

    after = await renderer.render("42", [Reply("Когда вам удобно?", buttons=(Button("Как можно скорее", "skip"),)), Reply("Спасибо")])
    markups = [m.reply_markup for m in after]
    assert isinstance(markups[0], InlineKeyboardMarkup)
    assert isinstance(markups[1], ReplyKeyboardRemove)  # on the first message without buttons

    later = await renderer.render("42", [Reply("Ещё что-нибудь?")])
    assert later[0].reply_markup is None  # removed once, not on every message


async def test_keyboard_removal_when_every_reply_has_buttons(state_store):
    renderer = ReplyRenderer(state_store)
    await renderer.render("7", [Reply("Ваш номер?", ask_phone=True)])
    after = await renderer.render("7", [Reply("Заявка принята.", buttons=(Button("Меню", "menu"),))])
    assert after[0].text == "Заявка принята." and isinstance(after[0].reply_markup, ReplyKeyboardRemove)
    assert isinstance(after[1].reply_markup, InlineKeyboardMarkup)


async def test_keyboards_are_per_chat(state_store):
    renderer = ReplyRenderer(state_store)
    await renderer.render("1", [Reply("Ваш номер?", ask_phone=True)])
    other = await renderer.render("2", [Reply("Здравствуйте")])
    assert other[0].reply_markup is None


def test_long_texts_are_split_at_line_breaks_within_the_limit():
    text = "\n".join(f"Строка {n} " + "х" * 50 for n in range(200))
    chunks = split_text(text)
    assert len(chunks) > 1
    assert all(0 < len(chunk) <= 4096 for chunk in chunks)
    assert "\n".join(chunks) == text
    assert split_text("коротко") == ["коротко"]
    assert all(len(c) <= 4096 for c in split_text("я" * 10000))


def test_contact_phones_are_normalised_to_e164():
    assert to_e164("79000000002") == "+79000000002"  # Telegram: international, no "+"
    assert to_e164("+7 900 000-00-02") == "+79000000002"
    assert to_e164("8 (916) 123-45-67") == "+79161234567"  # a local card
    assert to_e164("380501234567") == "+380501234567"
    assert to_e164("12") is None
    assert to_e164("") is None
    assert to_e164("телефон") is None
