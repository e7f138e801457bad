"""Subscriber journeys in Viber, end to end: signed callback JSON into the real app
(real dialog engine, billing, queues; demo subscribers), ``send_message`` calls out to
the Viber API double. On both databases.

The demo subscriber 1000002 / demo2 lives in Уфа, has 50 ₽ against a 450 ₽ monthly
fee (so a trust payment is allowed), and the phone +79000000002 on the contract.
"""

from __future__ import annotations

import pytest

from tests.viber.harness import joined, viber_app, viber_settings

ACCOUNT, PASSWORD, PHONE = "1000002", "demo2", "79000000002"


@pytest.fixture
async def vb(database_url, viber_api, tmp_path):
    async with viber_app(viber_settings(database_url, viber_api, tmp_path), viber_api, demo=True) as harness:
        yield harness


async def log_in_with_password(vb) -> str:
    assert "войти" in joined(await vb.say("какой у меня баланс")).lower()
    assert "пароль" in joined(await vb.say(ACCOUNT)).lower()
    return joined(await vb.say(PASSWORD))


async def test_conversation_started_is_answered_with_the_welcome_and_the_main_menu(vb):
    body = await vb.open_conversation()
    assert body["type"] == "text" and "receiver" not in body
    assert body["sender"] == {"name": "Зелёная точка", "avatar": "https://example.ru/zt.jpg"}
    assert "Зелёная точка" in body["text"] or "здравствуйте" in body["text"].lower()
    keyboard = body["keyboard"]
    assert keyboard["Type"] == "keyboard"
    buttons = keyboard["Buttons"]
    assert 2 <= len(buttons) <= 24
    assert all(b["ActionType"] == "reply" and b["ActionBody"] and b["Text"] for b in buttons)
    assert vb.api.calls_to("send_message") == []  # the welcome is the HTTP answer, not a paid send

    # A menu button pressed: Viber sends its ActionBody back as the text of a message.
    answer = joined(await vb.press("Баланс"))
    assert "войти" in answer.lower() or "лицевой" in answer.lower()


async def test_password_login_then_balance(vb):
    answer = await log_in_with_password(vb)
    assert "вошли" in answer and ACCOUNT in answer and "50" in answer
    balance = joined(await vb.say("баланс"))
    assert "50" in balance and "450" in balance
    # The password is nowhere in the transcript agents read.
    history = await vb.container.transcript.history(f"viber:{vb.user_id}")
    assert history and all(PASSWORD not in entry.text for entry in history)


async def test_login_offers_share_phone_and_the_shared_phone_verifies(vb):
    sent = await vb.deliver(vb.callbacks.text("какой у меня баланс"))
    keyboard = sent[-1]["keyboard"]
    share = [b for b in keyboard["Buttons"] if b["ActionType"] == "share-phone"]
    assert len(share) == 1 and sent[-1]["min_api_version"] >= 3
    answer = joined(await vb.share_phone(PHONE))
    assert "вошли" in answer and ACCOUNT in answer and "Баланс: 50" in answer


async def test_trust_payment_for_a_verified_subscriber(vb):
    await log_in_with_password(vb)
    answer = joined(await vb.press("Доверительный платёж"))
    assert "подключён" in answer and "450" in answer
    again = joined(await vb.say("хочу доверительный платёж"))
    assert "уже использован" in again  # once a month


async def test_payment_methods_step_by_step(vb):
    overview = joined(await vb.say("как оплатить интернет"))
    assert "Сбербанк" in overview
    steps = joined(await vb.press("Сбербанк Онлайн"))
    assert "Сбербанк" in steps and "1." in steps


async def test_office_hours_for_a_city_picked_by_button(vb):
    await vb.say("часы работы офиса")
    answer = joined(await vb.press("Нефтекамск"))
    assert "Нефтекамск" in answer and "Офис" in answer and "по местному времени" in answer


async def test_callback_request_with_the_phone_shared_by_button(vb):
    await vb.say("перезвоните мне")
    asked = joined(await vb.press("Абонентский отдел"))
    if "городе" in asked:
        asked = joined(await vb.press("Уфа"))
    assert "номер" in asked
    assert vb.button("Поделиться")["ActionType"] == "share-phone"
    await vb.share_phone(PHONE)
    await vb.press("Как можно скорее")
    ticket = joined(await vb.press("Пропустить"))
    assert "Заявка №" in ticket and "Абонентский отдел" in ticket and "+7 900 000-00-02" in ticket


async def test_operator_request(vb):
    answer = joined(await vb.say("позовите оператора"))
    if "городе" in answer:
        answer = joined(await vb.press("Уфа"))
    assert "оператор" in answer.lower() and "очеред" in answer and "Уфа" in answer
