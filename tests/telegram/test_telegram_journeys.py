"""Subscriber journeys in Telegram, end to end: Update JSON into the real app (real
dialog engine, billing, queues; demo subscribers), Bot API calls out to the double.
On both databases.

The demo subscriber 1000002 / demo2 lives in Уфа, has 50 ₽ against a 450 ₽ monthly
fee (so a trust payment is allowed), and the phone +79000000002 on the contract.
"""

from __future__ import annotations

import logging

import pytest

from tests.telegram.harness import SUBSCRIBER_ID, joined, telegram_app, telegram_settings, texts_of

ACCOUNT, PASSWORD, PHONE = "1000002", "demo2", "79000000002"


@pytest.fixture
async def tg(database_url, bot_api, tmp_path):
    async with telegram_app(telegram_settings(database_url, bot_api, tmp_path), bot_api, demo=True) as harness:
        yield harness


async def log_in_with_password(tg) -> tuple[dict, list]:
    assert "войти" in joined(await tg.say("какой у меня баланс")).lower()
    assert "пароль" in joined(await tg.say(ACCOUNT)).lower()
    password_update = tg.updates.text(PASSWORD)
    return password_update, await tg.deliver(password_update)


async def test_password_message_is_deleted_and_the_balance_shown(tg, caplog):
    caplog.set_level(logging.DEBUG)
    password_update, calls = await log_in_with_password(tg)

    deletions = [call for call in calls if call.method == "deleteMessage"]
    assert len(deletions) == 1
    assert deletions[0].params == {"chat_id": SUBSCRIBER_ID, "message_id": password_update["message"]["message_id"]}
    assert calls.index(deletions[0]) < calls.index(next(c for c in calls if c.method == "sendMessage"))
    answer = joined(texts_of(calls))
    assert "баланс" in answer.lower() and "50" in answer and ACCOUNT in answer

    # The password is nowhere: not in the logs, not in the transcript agents read.
    assert PASSWORD not in caplog.text
    history = await tg.container.transcript.history(f"telegram:{SUBSCRIBER_ID}")
    assert history and all(PASSWORD not in entry.text for entry in history)


async def test_trust_payment_for_a_verified_subscriber(tg):
    await log_in_with_password(tg)
    answer = joined(await tg.press("Доверительный платёж"))
    assert "подключён" in answer and "450" in answer
    again = joined(await tg.say("хочу доверительный платёж"))
    assert "уже использован" in again  # once a month


async def test_payment_methods_step_by_step(tg):
    overview = joined(await tg.say("как оплатить интернет"))
    assert "Сбербанк" in overview
    steps = joined(await tg.press("Сбербанк Онлайн"))
    assert "Сбербанк" in steps and "1." in steps


async def test_office_hours_for_a_named_city(tg):
    answer = joined(await tg.say("когда работает офис в Томске"))
    assert "Томск" in answer and "Офис" in answer and "по местному времени" in answer


async def test_office_hours_for_a_city_picked_by_button(tg):
    await tg.say("часы работы офиса")
    answer = joined(await tg.press("Нефтекамск"))
    assert "Нефтекамск" in answer and "Офис" in answer


async def test_callback_request_with_the_phone_shared_by_button(tg):
    await tg.say("перезвоните мне")
    asked = joined(await tg.press("Абонентский отдел"))
    if "городе" in asked:
        asked = joined(await tg.press("Уфа"))
    ask_phone = tg.api.calls_to("sendMessage")[-2]
    assert "номер" in ask_phone.params["text"]
    contact_button = ask_phone.params["reply_markup"]["keyboard"][0][0]
    assert contact_button["request_contact"] is True

    after_contact = await tg.deliver(tg.updates.own_contact(PHONE))
    markups = [call.params.get("reply_markup") or {} for call in after_contact if call.method == "sendMessage"]
    assert {"remove_keyboard": True} in markups  # the share-phone keyboard goes away

    await tg.press("Как можно скорее")
    ticket = joined(await tg.press("Пропустить"))
    assert "Заявка №" in ticket and "Абонентский отдел" in ticket and "+7 900 000-00-02" in ticket


async def test_operator_request(tg):
    answer = joined(await tg.say("позовите оператора"))
    if "городе" in answer:  # an anonymous subscriber is asked for the city first
        answer = joined(await tg.press("Уфа"))
    assert "оператор" in answer.lower() and "очеред" in answer and "Уфа" in answer


async def test_own_contact_verifies_by_phone(tg):
    answer = joined(await tg.deliver_texts(tg.updates.own_contact(PHONE)))
    assert "вошли" in answer and ACCOUNT in answer
    balance = joined(await tg.say("баланс"))
    assert "50" in balance and "Уфа" in balance


async def test_someone_elses_contact_does_not_verify(tg):
    answer = joined(await tg.deliver_texts(tg.updates.contact(PHONE, user_id=987654321)))
    assert "вошли" not in answer
    assert "войти" in joined(await tg.say("какой у меня баланс")).lower()


async def test_login_offers_the_share_phone_keyboard_and_a_shared_contact_logs_in(tg):
    calls = await tg.deliver(tg.updates.text("какой у меня баланс"))
    keyboards = [c.params.get("reply_markup") or {} for c in calls if c.method == "sendMessage"]
    assert any(k.get("keyboard", [[{}]])[0][0].get("request_contact") for k in keyboards)
    answer = joined(texts_of(await tg.deliver(tg.updates.own_contact(PHONE))))
    assert "лицевой счёт 1000002" in answer and "Баланс: 50" in answer
