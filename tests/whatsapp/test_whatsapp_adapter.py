"""The WhatsApp adapter's own behaviour (SQLite; the journeys run on both databases):
quick replies, Twilio's refusals as delivery results, long texts, ordering, the
webhook's edges, and de-duplication across processes (Redis)."""

from __future__ import annotations

import asyncio

import pytest

from app.settings import Settings
from bots.whatsapp import channel_from_settings, texts
from bots.whatsapp.rendering import BODY_LIMIT, split_text
from dialogs.messages import Reply
from tests.doubles.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi
from tests.whatsapp.harness import (
    QUICK_REPLY_SIDS,
    STRANGER,
    SUBSCRIBER,
    inbound_form,
    joined,
    whatsapp_app,
    whatsapp_settings,
)

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def quick_reply_settings(database_url, api, tmp_path, **overrides):
    sids = {f"twilio_content_sid_quick_reply_{n}": sid for n, sid in enumerate(QUICK_REPLY_SIDS, start=1)}
    return whatsapp_settings(database_url, api, tmp_path, **sids, **overrides)


# -- settings ----------------------------------------------------------------------------------------
def test_the_channel_is_off_without_its_settings(tmp_path):
    base = dict(database_url="sqlite+aiosqlite://", secret_key_file=tmp_path / "s")
    assert channel_from_settings(Settings(**base)) is None
    assert channel_from_settings(Settings(**base, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN)) is None
    channel = channel_from_settings(
        Settings(**base, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, twilio_whatsapp_from="whatsapp:+14155238886")
    )
    assert channel is not None and channel.name == "whatsapp"
    assert channel.config.from_number == "+14155238886"
    assert channel.has_messaging_window() and channel.messaging_window.total_seconds() == 24 * 3600
    assert not channel.supports_buttons()  # no quick-reply templates: a numbered menu
    assert AUTH_TOKEN not in repr(channel.config)


# -- rendering -----------------------------------------------------------------------------------------
def test_long_texts_are_split_at_boundaries_within_the_limit():
    paragraph = "Слово " * 200  # 1,200 characters
    text = "\n\n".join([paragraph.strip()] * 4)
    pieces = split_text(text)
    assert len(pieces) == 4 and all(len(p) <= BODY_LIMIT for p in pieces)
    assert all(p == paragraph.strip() for p in pieces)
    word = "а" * 4000  # no boundary at all: hard cuts
    assert [len(p) for p in split_text(word)] == [1600, 1600, 800]
    assert split_text("") == [""]


@SQLITE_ONLY
async def test_a_long_agent_message_goes_in_pieces(wa):
    await wa.say("привет")
    text = "\n".join(f"Строка номер {i} ответа оператора." for i in range(200))
    result = await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text=text)])
    sent = wa.api.messages[-len(result.provider_message_ids):]
    assert result.sent and len(sent) >= 3
    assert all(len(m.body) <= BODY_LIMIT for m in sent)
    assert "\n".join(m.body for m in sent) == text


@SQLITE_ONLY
async def test_quick_replies_where_templates_are_configured(database_url, twilio_api, tmp_path):
    async with whatsapp_app(quick_reply_settings(database_url, twilio_api, tmp_path), twilio_api) as wa:
        assert wa.channel.supports_buttons() and wa.channel.max_buttons == 3
        await wa.say("баланс")
        card = wa.api.messages[-1]
        assert card.content_sid == QUICK_REPLY_SIDS[1] and "Body" not in card.form  # two buttons
        variables = card.content_variables
        assert "Баланс: 50" in variables["1"] and "Ответьте цифрой" not in variables["1"]
        assert variables["2"] == "Как оплатить" and variables["4"] == "Доверительный платёж"

        pressed = inbound_form(
            SUBSCRIBER, "Доверительный платёж", ButtonPayload=variables["5"], ButtonText="Доверительный платёж",
            MessageType="button",
        )
        answer = joined([m.text for m in await wa.deliver(pressed)])
        assert "подключён" in answer and "450" in answer

        # More than three buttons: the numbered menu, and its digits work.
        menu = joined(await wa.say("меню"))
        assert "Ответьте цифрой:" in menu and wa.api.messages[-1].content_sid is None
        assert "Офис" in joined(await wa.choose("Офисы"))


@SQLITE_ONLY
async def test_a_quick_reply_we_no_longer_know_is_read_as_its_text(database_url, twilio_api, tmp_path):
    async with whatsapp_app(quick_reply_settings(database_url, twilio_api, tmp_path), twilio_api) as wa:
        await wa.say("привет")
        stale = inbound_form(
            SUBSCRIBER, "Способы оплаты", ButtonPayload="deadbeef.2", ButtonText="Способы оплаты", MessageType="button"
        )
        answer = joined([m.text for m in await wa.deliver(stale)])
        assert "без комиссии" in answer


# -- Twilio's refusals -------------------------------------------------------------------------------
@SQLITE_ONLY
@pytest.mark.parametrize(
    "status, code, reason, retryable",
    [
        (400, 21610, texts.UNSUBSCRIBED, False),
        (400, 63016, texts.WINDOW_CLOSED, False),
        (400, 21211, texts.NOT_ON_WHATSAPP, False),
        (400, 21999, texts.REFUSED.format(code=21999), False),
        (429, 20429, texts.UNREACHABLE, True),
        (503, 20500, texts.UNREACHABLE, True),
    ],
)
async def test_twilio_errors_become_failed_results(wa, status, code, reason, retryable):
    await wa.say("привет")
    wa.api.fail_next(status=status, code=code)
    result = await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text="Сообщение оператора")])
    assert not result.sent
    assert result.reason == reason and result.retryable is retryable
    assert str(code) in result.detail


@SQLITE_ONLY
async def test_a_timeout_is_retryable(wa, monkeypatch):
    await wa.say("привет")
    monkeypatch.setattr("bots.whatsapp.sender.REQUEST_TIMEOUT_SECONDS", 0.2)
    wa.api.stall_next(1.0)
    result = await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text="Алло")])
    assert not result.sent and result.retryable and result.reason == texts.UNREACHABLE


@SQLITE_ONLY
async def test_twilio_unreachable_is_retryable(database_url, tmp_path):
    async with FakeTwilioApi() as api:
        closed_port = api.base_url
    settings = whatsapp_settings(database_url, api, tmp_path, twilio_api_base=closed_port)
    async with whatsapp_app(settings, api) as wa:
        await wa.post("/webhooks/whatsapp", inbound_form(SUBSCRIBER, "привет"))
        await wa.channel.drain()  # the reply fails: logged, the intake goes on
        result = await wa.container.delivery.send(f"whatsapp:{SUBSCRIBER}", [Reply(text="Алло")])
        assert not result.sent and result.retryable and result.reason == texts.UNREACHABLE


# -- intake ------------------------------------------------------------------------------------------------
@SQLITE_ONLY
async def test_one_senders_messages_are_answered_in_order(wa):
    wa.phone = STRANGER
    wa.api.stall_next(0.3)  # the first reply is slow to post
    first = await wa.post("/webhooks/whatsapp", inbound_form(STRANGER, "какой у меня баланс"))
    second = await wa.post("/webhooks/whatsapp", inbound_form(STRANGER, "1000002"))
    assert first.status_code == second.status_code == 200  # answered before processing
    await wa.channel.drain()
    bodies = [m.body for m in wa.api.messages_to(STRANGER)]
    assert "войти" in bodies[0].lower() and "пароль" in bodies[-1].lower()
    assert not any("пароль" in body.lower() for body in bodies[:-1])


@SQLITE_ONLY
async def test_the_webhook_answers_empty_twiml_and_ignores_unknown_fields(wa):
    form = inbound_form(SUBSCRIBER, "когда работает офис в Томске", SomethingTwilioAddsLater="1", Latitude="55.7")
    response = await wa.post("/webhooks/whatsapp", form)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response/>")
    await wa.channel.drain()
    assert "Томск" in wa.api.messages[-1].body


@SQLITE_ONLY
async def test_without_a_public_url_nothing_is_accepted(database_url, twilio_api, tmp_path):
    settings = whatsapp_settings(database_url, twilio_api, tmp_path, public_base_url=None)
    async with whatsapp_app(settings, twilio_api) as wa:
        assert (await wa.post("/webhooks/whatsapp", inbound_form(SUBSCRIBER, "привет"))).status_code == 403


@SQLITE_ONLY
async def test_status_callbacks_need_a_signature(wa):
    form = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"}
    assert (await wa.post("/webhooks/whatsapp/status", form, signature=None)).status_code == 403
    assert (await wa.post("/webhooks/whatsapp/status", form, signature="AAAA")).status_code == 403
    assert await wa.container.receipts.get("whatsapp", form["MessageSid"]) is None


@SQLITE_ONLY
async def test_a_body_that_is_not_utf8_is_400(wa):
    unsigned = await wa.post("/webhooks/whatsapp", {}, content=b"Body=%FF%FE&MessageSid=x", signature=None)
    assert unsigned.status_code == 403  # the signature header is looked at first
    signed_garbage = await wa.post("/webhooks/whatsapp", {}, content=b"Body=%FF%FE", signature="x")
    assert signed_garbage.status_code == 400


@pytest.mark.redis
async def test_a_message_sid_is_taken_once_across_processes(redis_url, tmp_path):
    """Two app processes (one database, one Redis) get the same Twilio retry: one reply."""
    async with FakeTwilioApi() as api:
        db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        settings = whatsapp_settings(db, api, tmp_path, redis_url=redis_url)
        async with whatsapp_app(settings, api) as one, whatsapp_app(settings, api) as two:
            form = inbound_form(SUBSCRIBER, "когда работает офис в Томске")
            responses = await asyncio.gather(
                one.post("/webhooks/whatsapp", form), two.post("/webhooks/whatsapp", form)
            )
            assert [r.status_code for r in responses] == [200, 200]
            await one.channel.drain()
            await two.channel.drain()
            assert len(api.messages) == 1 and "Томск" in api.messages[0].body
