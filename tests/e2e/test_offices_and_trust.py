"""Office hours (local time of each city) and trust payments through the web chat."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone


async def test_office_hours_for_a_named_city_open_now(chat):
    await chat.send("когда работает офис в нальчике")
    text = chat.text
    assert text.startswith("Нальчик, сейчас 12:00")
    assert "+7 (8662) 760-400" in text and "+7 (8662) 777-400" in text
    assert "сейчас открыто до 20:00" in text
    assert "Техподдержка: круглосуточно" in text
    assert "+7 (8652) 333-333" in text


async def test_same_instant_is_evening_in_moscow_and_morning_in_vladivostok(stack, chat):
    stack.clock.now = datetime(2026, 11, 18, 18, 30, tzinfo=timezone.utc)  # 21:30 Moscow, Thu 04:30 Vladivostok
    await chat.send("часы работы в москве")
    assert "Москва, сейчас 21:30" in chat.text
    assert "закрыто, откроется завтра в 09:00" in chat.text
    await chat.send("а во владивостоке?")
    assert "Владивосток, сейчас 04:30" in chat.text
    assert "откроется сегодня в 09:00" in chat.text


async def test_office_hours_asks_the_city_then_answers(chat):
    await chat.send("до скольки вы работаете")
    assert "В каком вы городе?" in chat.text
    assert "Томск" in chat.buttons()
    await chat.send("Томск")
    assert chat.text.startswith("Томск, сейчас 16:00")


async def test_office_hours_rejects_an_unknown_city(chat):
    await chat.send("адрес офиса")
    await chat.send("Париж")
    assert "Не нашёл такой город" in chat.text
    await chat.click("Уфа")
    assert chat.text.startswith("Уфа, сейчас 14:00")


async def test_office_hours_use_the_account_city(chat):
    await chat.login("1000004", "demo4")
    await chat.press("office_hours")
    assert chat.text.startswith("Владивосток, сейчас 19:00")


async def test_trust_payment_granted_once_a_month(chat):
    await chat.login("1000002", "demo2")
    await chat.send("нужен доверительный платеж")
    assert "Доверительный платёж подключён" in chat.text
    assert "450\u00a0₽ на 3 дн." in chat.text
    assert "21 ноября 2026 14:00" in chat.text  # 3 days from 14:00 in Ufa
    assert "бесплатно" in chat.text
    await chat.press("balance")
    assert "Баланс: 500\u00a0₽" in chat.text
    assert "Доверительный платёж действует до 21 ноября 14:00" in chat.text
    await chat.press("trust_payment")
    assert "уже использован" in chat.text
    assert "1 декабря 2026" in chat.text


async def test_trust_payment_already_used_this_month(chat):
    await chat.login("1000003", "demo3")
    await chat.press("trust_payment")
    assert "уже использован" in chat.text


async def test_trust_payment_not_needed_with_enough_money(chat):
    await chat.login("1000001", "demo1")
    await chat.press("trust_payment")
    assert "не нужен" in chat.text and "1\u00a0200\u00a0₽" in chat.text


async def test_trust_payment_refused_for_a_frozen_account(chat):
    await chat.login("1000005", "demo5")
    await chat.press("trust_payment")
    assert "заморожен" in chat.text


async def test_trust_payment_asks_to_log_in_first(chat):
    await chat.send("дайте обещанный платеж")
    assert "нужно войти" in chat.text
    await chat.send("1000004")
    await chat.send("demo4")
    assert "Доверительный платёж подключён" in chat.text
    assert "600\u00a0₽" in chat.text


async def test_two_channels_at_once_get_one_grant(stack):
    first, second = await stack.new_chat(), await stack.new_chat()
    await first.login("1000004", "demo4")
    await second.login("1000004", "demo4")
    await asyncio.gather(first.press("trust_payment"), second.press("trust_payment"))
    answers = [first.text, second.text]
    assert sum("подключён" in a for a in answers) == 1, answers
    assert sum("уже использован" in a for a in answers) == 1, answers
