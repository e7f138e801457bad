"""The Viber adapter at its edges: the signed webhook, de-duplication and ordering,
Viber's status codes, the 100-unanswered-messages rule, paid sessions, receipts,
rendering limits and ``isp-support viber set-webhook``. On SQLite and PostgreSQL
(in-process state; tests/viber/test_viber_processes.py shares Redis between two apps)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from app.channels import enabled_channels
from app.cli import main as cli
from bots.viber import ViberConfig, set_webhook
from bots.viber.callbacks import parse_callback
from dialogs.messages import Button, Reply
from tests.doubles.viber_api import DEFAULT_TOKEN, signature
from tests.viber.harness import Clock, joined, texts_of, viber_app, viber_settings

ACCOUNT, PASSWORD, PHONE = "1000002", "demo2", "79000000002"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def vb(database_url, viber_api, tmp_path, clock):
    settings = viber_settings(database_url, viber_api, tmp_path)
    async with viber_app(settings, viber_api, demo=True, clock=clock) as harness:
        yield harness


async def agent_sends(vb, text: str = "Здравствуйте, это оператор.", **reply):
    """An agent's message, the way the dispatcher sends it: through the Delivery."""
    return await vb.container.delivery.send(f"viber:{vb.user_id}", [Reply(text=text, **reply)])


# -- the webhook ---------------------------------------------------------------------------------
async def test_webhook_check_is_acknowledged(vb):
    response = await vb.post(vb.callbacks.webhook())
    assert response.status_code == 200


@pytest.mark.parametrize(
    "signature_header",
    [None, "", "0" * 64, signature(b"another body"), signature(b"x", token="another-token")],
)
async def test_a_wrong_or_missing_signature_is_403_and_nothing_happens(vb, signature_header):
    callback = vb.callbacks.text("баланс")
    if signature_header is None:
        response = await vb.post(callback, sign=False)
    else:
        response = await vb.post(callback, signature=signature_header)
    assert response.status_code == 403
    await vb.channel.drain()
    assert vb.api.calls == []


async def test_a_body_signed_with_the_token_but_changed_after_is_403(vb):
    callback = vb.callbacks.text("баланс")
    good = signature(json.dumps(callback, ensure_ascii=False).encode())
    callback["message"]["text"] = "позовите оператора"
    assert (await vb.post(callback, signature=good)).status_code == 403


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b""])
async def test_malformed_json_is_400(vb, content):
    response = await vb.post(content=content)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2, 3],
        {"timestamp": 1},  # no event
        {"event": "message", "message_token": 1, "message": {"type": "text", "text": "hi"}},  # no sender
        {"event": "message", "message_token": 1, "sender": {"id": 42}, "message": {"type": "text"}},
        {"event": "unsubscribed", "message_token": 1},  # no user_id
        {"event": "delivered", "user_id": "u=="},  # no message token
    ],
)
async def test_json_that_is_not_a_viber_callback_is_422(vb, payload):
    response = await vb.post(content=json.dumps(payload).encode())
    assert response.status_code == 422, response.text


async def test_an_event_kind_viber_adds_later_is_acknowledged(vb):
    response = await vb.post({"event": "client_status", "timestamp": 1, "message_token": 7})
    assert response.status_code == 200


async def test_the_webhook_is_not_mounted_without_a_token(sqlite_url, viber_api, tmp_path):
    settings = viber_settings(sqlite_url, viber_api, tmp_path, viber_auth_token=None)
    assert "viber" not in [channel.name for channel in enabled_channels(settings)]


# -- messages in ---------------------------------------------------------------------------------
async def test_a_replayed_message_token_gets_one_reply(vb):
    callback = vb.callbacks.text("как оплатить интернет")
    first = await vb.deliver(callback)
    assert first and "Сбербанк" in joined(texts_of(first))
    again = await vb.deliver(callback)  # Viber re-sends a callback it had no 200 for
    assert again == []


async def test_one_subscribers_messages_are_answered_in_order(vb):
    await vb.say("какой у меня баланс")
    for text in (ACCOUNT, PASSWORD):  # posted back to back; processed in the background
        assert (await vb.post(vb.callbacks.text(text))).status_code == 200
    await vb.channel.drain()
    texts = [body["text"] for body in vb.api.sent()]
    asked_password = next(i for i, t in enumerate(texts) if "пароль" in t.lower())
    logged_in = next(i for i, t in enumerate(texts) if "вошли" in t)
    assert asked_password < logged_in


async def test_a_picture_gets_a_text_only_note(vb):
    answer = joined(texts_of(await vb.deliver(vb.callbacks.picture())))
    assert "текстовые" in answer


async def test_a_contact_card_sent_unasked_is_only_a_number(vb):
    """Without our share-phone button on screen, a contact may be anybody's card: it
    does not verify."""
    answer = joined(await vb.share_phone(PHONE))
    assert "вошли" not in answer
    assert "войти" in joined(await vb.say("какой у меня баланс")).lower()


async def test_a_replayed_conversation_started_gets_the_same_welcome(vb):
    callback = vb.callbacks.conversation_started()
    first, again = (await vb.post(callback)).json(), (await vb.post(callback)).json()
    assert first["text"] and again == first
    assert vb.api.calls == []


async def test_a_typed_text_that_is_not_a_button_stays_text(vb):
    await vb.open_conversation()
    answer = joined(await vb.say("когда работает офис в Томске"))
    assert "Томск" in answer


# -- subscription --------------------------------------------------------------------------------
async def test_an_unsubscribed_subscriber_gets_nothing_and_the_agent_is_told_why(vb):
    await vb.say("привет")
    assert (await vb.post(vb.callbacks.unsubscribed())).status_code == 200
    before = len(vb.api.calls)
    result = await agent_sends(vb)
    assert not result.sent and "отписался" in result.reason and not result.retryable
    assert len(vb.api.calls) == before  # not even tried

    assert (await vb.post(vb.callbacks.subscribed())).status_code == 200
    assert (await agent_sends(vb)).sent


async def test_viber_status_6_marks_the_subscriber_unsubscribed(vb, viber_api):
    await vb.say("привет")
    viber_api.unsubscribed.add(vb.user_id)  # unsubscribed without us hearing of it
    result = await agent_sends(vb)
    assert not result.sent and "отписался" in result.reason and "status 6" in result.detail
    calls = len(viber_api.calls)
    assert not (await agent_sends(vb)).sent
    assert len(viber_api.calls) == calls  # remembered: Viber is not asked again
    # Writing to the bot again means subscribing again.
    viber_api.unsubscribed.clear()
    assert await vb.say("баланс")


# -- Viber's status codes ------------------------------------------------------------------------
async def test_status_12_is_waited_out_and_retried(vb, viber_api):
    await vb.say("привет")
    viber_api.fail_next("send_message", status=12, times=2)
    result = await agent_sends(vb)
    assert result.sent and len(result.provider_message_ids) == 1
    assert len(viber_api.calls_to("send_message")) == 1 + 3  # the reply, then 2 refusals and the success


async def test_status_12_that_persists_is_a_retryable_failure(vb, viber_api):
    await vb.say("привет")
    viber_api.fail_next("send_message", status=12, times=10)
    before = len(viber_api.calls_to("send_message"))
    result = await agent_sends(vb)
    assert not result.sent and result.retryable and "реже" in result.reason
    assert len(viber_api.calls_to("send_message")) - before == 3  # bounded


async def test_another_status_is_reported_with_vibers_words(vb, viber_api):
    await vb.say("привет")
    viber_api.fail_next("send_message", status=7)
    result = await agent_sends(vb)
    assert not result.sent and not result.retryable
    assert result.reason.startswith("Viber не принял сообщение") and "status 7" in result.detail


@pytest.mark.parametrize("http_error", [500, 503])
async def test_a_server_error_is_retryable(vb, viber_api, http_error):
    await vb.say("привет")
    viber_api.fail_next("send_message", http_error=http_error)
    result = await agent_sends(vb)
    assert not result.sent and result.retryable and "недоступен" in result.reason


async def test_an_unreachable_viber_is_retryable(sqlite_url, viber_api, tmp_path):
    settings = viber_settings(sqlite_url, viber_api, tmp_path, viber_api_base="http://127.0.0.1:9/pa")
    async with viber_app(settings, viber_api) as vb:
        await vb.post(vb.callbacks.text("привет"))
        await vb.channel.drain()
        result = await agent_sends(vb)
        assert not result.sent and result.retryable


# -- Viber's rules -------------------------------------------------------------------------------
async def test_at_most_100_messages_an_hour_to_a_subscriber_who_has_not_replied(vb, viber_api):
    await vb.say("привет")  # the bot's reply is the first unanswered message
    for _ in range(99):
        assert (await agent_sends(vb)).sent
    assert viber_api.unanswered[vb.user_id] == 100
    result = await agent_sends(vb)
    assert not result.sent and "100" in result.reason and result.retryable
    assert len(viber_api.calls_to("send_message")) == 100  # our count stopped it, not Viber

    await vb.say("да, слушаю")  # the subscriber answered: the count starts again
    assert (await agent_sends(vb)).sent


async def test_a_message_outside_the_24_hour_session_is_refused_by_default(vb, clock, viber_api):
    channel = vb.channel
    assert channel.has_messaging_window() and channel.messaging_window == timedelta(hours=24)
    assert await channel.would_start_paid_session(vb.user_id)  # never wrote

    await vb.say("привет")
    clock.advance(hours=23)
    assert not await channel.would_start_paid_session(vb.user_id)
    inside = await agent_sends(vb)
    assert inside.sent and inside.detail is None

    clock.advance(hours=2)
    assert await channel.would_start_paid_session(vb.user_id)
    before = len(viber_api.calls)
    refused = await agent_sends(vb)
    assert not refused.sent and "платную" in refused.reason
    assert len(viber_api.calls) == before


async def test_paid_messages_go_out_when_allowed_and_the_agent_is_told(sqlite_url, viber_api, tmp_path, clock):
    settings = viber_settings(sqlite_url, viber_api, tmp_path, viber_allow_paid_messages=True)
    async with viber_app(settings, viber_api, clock=clock) as vb:
        result = await agent_sends(vb)  # the subscriber never wrote: chatbot-initiated
        assert result.sent and "платную" in result.detail


# -- receipts ------------------------------------------------------------------------------------
async def test_delivered_seen_and_failed_are_recorded_for_the_console(vb):
    await vb.say("привет")
    token = (await agent_sends(vb)).provider_message_ids[0]
    for event in ("delivered", "seen"):
        assert (await vb.post(vb.callbacks.receipt(event, token))).status_code == 200
    receipt = await vb.container.receipts.get("viber", token)
    assert receipt.status == "read" and receipt.conversation_key == f"viber:{vb.user_id}"

    other = (await agent_sends(vb, "Второе сообщение")).provider_message_ids[0]
    await vb.post(vb.callbacks.receipt("failed", other, desc="user's device is offline"))
    failed = await vb.container.receipts.get("viber", other)
    assert failed.status == "failed" and failed.error_message == "user's device is offline"


# -- rendering -----------------------------------------------------------------------------------
async def test_a_long_text_is_split_at_vibers_limit(vb, viber_api):
    await vb.say("привет")
    text = ("Строка инструкции. " * 20 + "\n") * 30  # ~11,000 characters
    result = await agent_sends(vb, text)
    sent = viber_api.sent()[-len(result.provider_message_ids):]
    assert result.sent and len(sent) == 2
    assert all(len(body["text"]) <= 7000 for body in sent)
    assert "".join(body["text"] for body in sent).replace("\n", "") == text.strip().replace("\n", "")


async def test_more_buttons_than_a_keyboard_holds_are_cut_to_24_and_a_long_tracking_data_is_left_out(vb, viber_api):
    await vb.say("привет")
    buttons = tuple(Button(f"Вариант {i}", "inform?city=" + "я" * 300 + str(i)) for i in range(30))
    assert (await agent_sends(vb, "Выберите:", buttons=buttons)).sent
    body = viber_api.sent()[-1]
    assert len(body["keyboard"]["Buttons"]) == 24
    assert "tracking_data" not in body  # 24 × 300 characters do not fit in 4,000
    # The button still works: the adapter remembers the keyboard it showed.
    pressed = parse_callback(vb.callbacks.text(body["keyboard"]["Buttons"][3]["ActionBody"]))
    inbound = await vb.channel.inbound_of(pressed)
    assert inbound.payload == body["keyboard"]["Buttons"][3]["ActionBody"] and inbound.via == "button"


def test_the_sender_name_is_cut_to_28_characters():
    class Settingsish:
        viber_auth_token = "t"
        viber_sender_name = "Служба поддержки «Зелёная точка» г. Уфа"

    config = ViberConfig.from_settings(Settingsish())
    assert len(config.sender["name"]) == 28


# -- set-webhook ---------------------------------------------------------------------------------
async def test_set_webhook_registers_the_endpoint(sqlite_url, viber_api, tmp_path):
    settings = viber_settings(sqlite_url, viber_api, tmp_path)
    url = await set_webhook(settings, send_name=True, send_photo=False)
    assert url == "https://support.example.ru/webhooks/viber"
    call = viber_api.calls_to("set_webhook")[-1]
    assert call.body["url"] == url and call.body["send_name"] is True and call.body["send_photo"] is False
    assert {"delivered", "seen", "failed", "unsubscribed", "conversation_started"} <= set(call.body["event_types"])


async def test_cli_set_webhook(viber_api, monkeypatch, capsys):
    monkeypatch.setenv("VIBER_AUTH_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("VIBER_API_BASE", viber_api.base_url)
    monkeypatch.setenv("VIBER_WEBHOOK_URL", "https://support.example.ru/bot/viber")
    # The command runs its own event loop; the double serves from this one.
    assert await asyncio.to_thread(cli, ["viber", "set-webhook", "--send-photo", "--no-send-name"]) == 0
    assert "https://support.example.ru/bot/viber" in capsys.readouterr().out
    body = viber_api.calls_to("set_webhook")[-1].body
    assert body["url"] == "https://support.example.ru/bot/viber"
    assert body["send_photo"] is True and body["send_name"] is False


def test_cli_set_webhook_without_a_url_says_what_is_missing(monkeypatch, capsys):
    monkeypatch.setenv("VIBER_AUTH_TOKEN", DEFAULT_TOKEN)
    monkeypatch.delenv("VIBER_WEBHOOK_URL", raising=False)
    assert cli(["viber", "set-webhook"]) == 2
    assert "VIBER_WEBHOOK_URL" in capsys.readouterr().err
