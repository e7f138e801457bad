"""Subscriber journeys in WhatsApp, end to end: Twilio's signed form webhooks into the
real app (real dialog engine, billing, queues; demo subscribers), the twilio library's
REST calls out to the local Twilio double. On both databases.

The demo subscriber 1000002 / demo2 (Уфа, 50 ₽ against a 450 ₽ fee, so a trust payment
is allowed) has +79000000002 on the contract; 1000006 and 1000007 (Нальчик) share
+79000000006.
"""

from __future__ import annotations

import logging

from bots.whatsapp.texts import MEDIA_NOTE, WINDOW_CLOSED_NO_TEMPLATE
from dialogs.messages import Reply
from tests.whatsapp.harness import (
    BOT_NUMBER,
    PUBLIC_BASE_URL,
    STRANGER,
    SUBSCRIBER,
    WINDOW_TEMPLATE_SID,
    inbound_form,
    joined,
    whatsapp_app,
    whatsapp_settings,
)

SHARED_PHONE = "+79000000006"


async def test_phone_on_one_contract_verifies_and_the_balance_is_shown(wa):
    answer = joined(await wa.say("какой у меня баланс"))
    assert "вошли по номеру телефона" in answer and "1000002" in answer
    assert "Баланс: 50\u00a0₽" in answer and "Уфа" in answer
    sent = wa.api.messages[-1]
    assert sent.form["To"] == f"whatsapp:{SUBSCRIBER}" and sent.form["From"] == f"whatsapp:{BOT_NUMBER}"
    assert sent.form["StatusCallback"] == f"{PUBLIC_BASE_URL}/webhooks/whatsapp/status"


async def test_phone_on_several_contracts_asks_which_account(wa):
    wa.phone = SHARED_PHONE
    asked = joined(await wa.say("баланс"))
    assert "несколько лицевых счетов" in asked
    assert "1 — Счёт 1000006 (Нальчик)" in asked and "2 — Счёт 1000007 (Нальчик)" in asked
    answer = joined(await wa.choose("1000007"))
    assert "вошли: лицевой счёт 1000007" in answer and "Баланс: −130\u00a0₽" in answer


async def test_unknown_phone_logs_in_with_account_and_password(wa, caplog):
    caplog.set_level(logging.DEBUG)
    wa.phone = STRANGER
    assert "войти" in joined(await wa.say("какой у меня баланс")).lower()
    assert "пароль" in joined(await wa.say("1000002")).lower()
    answer = joined(await wa.say("demo2"))
    assert "вошли: лицевой счёт 1000002" in answer and "Баланс: 50\u00a0₽" in answer
    # The password is nowhere: not in the logs, not in the transcript agents read.
    assert "demo2" not in caplog.text
    history = await wa.container.transcript.history(f"whatsapp:{STRANGER}")
    assert history and all("demo2" not in entry.text for entry in history)


async def test_wrong_password_is_counted(wa):
    wa.phone = STRANGER
    await wa.say("баланс")
    await wa.say("1000002")
    answer = joined(await wa.say("неверный-пароль"))
    assert "Баланс" not in answer and "4" in answer  # attempts left


async def test_trust_payment_once_a_month(wa):
    await wa.say("баланс")
    granted = joined(await wa.choose("Доверительный платёж"))
    assert "подключён" in granted and "450" in granted
    again = joined(await wa.say("хочу доверительный платёж"))
    assert "уже использован" in again


async def test_payment_methods_step_by_step_by_digit(wa):
    overview = joined(await wa.say("как оплатить интернет"))
    assert "Ответьте цифрой:" in overview and "Через Сбербанк Онлайн" in overview
    steps = joined(await wa.choose("Сбербанк Онлайн"))
    assert "Сбербанк" in steps and "1." in steps


async def test_office_hours_for_a_named_city(wa):
    answer = joined(await wa.say("когда работает офис в Томске"))
    assert "Томск" in answer and "Офис" in answer and "по местному времени" in answer


async def test_callback_takes_the_whatsapp_number(wa):
    wa.phone = STRANGER
    await wa.say("перезвоните мне")
    await wa.choose("Абонентский отдел")
    await wa.choose("Уфа")
    await wa.choose("Как можно скорее")
    ticket = joined(await wa.choose("Пропустить"))
    assert "Заявка №" in ticket and "Абонентский отдел, Уфа" in ticket and "+7 999 000-11-22" in ticket


async def test_operator_request(wa):
    asked = joined(await wa.say("позовите оператора"))
    assert "городе" in asked  # not verified yet: the city decides the queue
    answer = joined(await wa.choose("Уфа"))
    assert "оператор" in answer.lower() and "очеред" in answer and "Уфа" in answer


async def test_digits_answer_only_the_newest_menu(wa):
    menu = joined(await wa.say("меню"))
    assert "5 — Офисы и часы работы" in menu
    assert "В каком вы городе?" in joined(await wa.say("5"))  # the digit works as the button

    await wa.say("меню")
    # A message without buttons (here an agent's) forgets the menu: a digit is text again.
    await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text="Здравствуйте, это оператор.")])
    assert "В каком вы городе?" not in joined(await wa.say("5"))

    await wa.say("меню")
    assert "В каком вы городе?" not in joined(await wa.say("99"))  # beyond the menu: text
    history = await wa.container.transcript.history(f"whatsapp:{SUBSCRIBER}")
    typed = [entry.text for entry in history if entry.text in ("5", "99") or entry.text.startswith("[кнопка]")]
    assert typed[-2:] == ["5", "99"] and typed[0].startswith("[кнопка]")


async def test_media_gets_a_polite_text_only_note(wa):
    form = inbound_form(
        SUBSCRIBER, "", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1", MediaContentType0="image/jpeg",
        MessageType="image",
    )
    sent = await wa.deliver(form)
    assert [m.text for m in sent] == [MEDIA_NOTE]
    assert "только текст" in MEDIA_NOTE
    location = inbound_form(SUBSCRIBER, "", Latitude="54.7", Longitude="55.9", MessageType="location")
    assert [m.text for m in await wa.deliver(location)] == [MEDIA_NOTE]
    # A caption is read as text.
    captioned = inbound_form(SUBSCRIBER, "когда работает офис в Томске", NumMedia="1",
                             MediaUrl0="https://api.twilio.com/media/ME2", MediaContentType0="image/jpeg")
    assert "Томск" in joined([m.text for m in await wa.deliver(captioned)])


async def test_status_callbacks_are_recorded(wa):
    await wa.say("баланс")
    sid = wa.api.messages[-1].sid
    for status in ("sent", "delivered", "read"):
        response = await wa.status({"MessageSid": sid, "MessageStatus": status, "To": f"whatsapp:{SUBSCRIBER}",
                                    "From": f"whatsapp:{BOT_NUMBER}", "AccountSid": wa.api.account_sid,
                                    "ApiVersion": "2010-04-01", "ChannelPrefix": "whatsapp"})
        assert response.status_code == 200
    receipt = await wa.container.receipts.get("whatsapp", sid)
    assert receipt.status == "read" and receipt.conversation_key == f"whatsapp:{SUBSCRIBER}"

    await wa.say("меню")
    failed_sid = wa.api.messages[-1].sid
    await wa.status({"MessageSid": failed_sid, "MessageStatus": "failed", "ErrorCode": "63016",
                     "To": f"whatsapp:{SUBSCRIBER}"})
    receipt = await wa.container.receipts.get("whatsapp", failed_sid)
    assert receipt.status == "failed" and receipt.error_code == "63016" and "24 часа" in receipt.error_message


async def test_agent_message_inside_and_after_the_window_without_a_template(wa):
    await wa.say("привет")
    inside = await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text="Здравствуйте, это оператор.")])
    assert inside.sent and inside.provider_message_ids == (wa.api.messages[-1].sid,)
    assert wa.api.messages[-1].body == "Здравствуйте, это оператор."

    wa.clock.advance(hours=24, minutes=1)
    count = len(wa.api.messages)
    after = await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text="Вы ещё здесь?")])
    assert not after.sent and after.reason == WINDOW_CLOSED_NO_TEMPLATE and not after.retryable
    assert len(wa.api.messages) == count  # nothing was posted

    await wa.say("да")  # the subscriber writes again: the window reopens
    again = await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text="Отлично.")])
    assert again.sent


async def test_agent_message_after_the_window_goes_as_the_template(database_url, twilio_api, tmp_path):
    settings = whatsapp_settings(database_url, twilio_api, tmp_path, twilio_content_sid_window=WINDOW_TEMPLATE_SID)
    async with whatsapp_app(settings, twilio_api) as wa:
        await wa.say("привет")
        wa.clock.advance(hours=30)
        result = await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text="Ваша заявка выполнена.")])
        assert result.sent
        sent = wa.api.messages[-1]
        assert result.provider_message_ids == (sent.sid,)
        assert sent.content_sid == WINDOW_TEMPLATE_SID and "Body" not in sent.form
        assert sent.content_variables == {"1": "Ваша заявка выполнена."}


async def test_a_replayed_message_sid_gets_one_reply(wa):
    form = inbound_form(SUBSCRIBER, "баланс")
    first = await wa.deliver(form)
    assert first
    assert await wa.deliver(form) == []
    assert await wa.deliver(dict(form, Body="баланс")) == []


async def test_bad_or_missing_signature_is_403(wa):
    form = inbound_form(SUBSCRIBER, "баланс")
    assert (await wa.post("/webhooks/whatsapp", form, signature="bm90IGEgc2lnbmF0dXJl")).status_code == 403
    assert (await wa.post("/webhooks/whatsapp", form, signature=None)).status_code == 403
    # Signed for another URL (the host the app sees instead of the public one).
    from tests.whatsapp.harness import sign

    forged = sign("http://testserver/webhooks/whatsapp", form)
    assert (await wa.post("/webhooks/whatsapp", form, signature=forged)).status_code == 403
    await wa.channel.drain()
    assert wa.api.messages == []


async def test_malformed_webhooks_are_4xx(wa):
    assert (await wa.post("/webhooks/whatsapp", {"Body": "привет"})).status_code == 422  # no MessageSid, no From
    no_from = inbound_form(SUBSCRIBER, "x")
    no_from["From"] = "+79000000002"  # not a whatsapp: address
    assert (await wa.post("/webhooks/whatsapp", no_from)).status_code == 422
    assert (await wa.post("/webhooks/whatsapp", inbound_form(SUBSCRIBER, "x", NumMedia="много"))).status_code == 422
    json_body = await wa.post("/webhooks/whatsapp", {}, content=b'{"Body": "x"}', content_type="application/json")
    assert json_body.status_code == 400
    assert (await wa.status({"MessageSid": "SMnot-a-sid", "MessageStatus": "delivered"})).status_code == 422
    await wa.channel.drain()
    assert wa.api.messages == []
