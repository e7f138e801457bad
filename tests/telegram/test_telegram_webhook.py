"""The webhook endpoint of the real app: security, parsing, de-duplication, the
adapter's own replies, flood control, and acknowledging before processing."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dialogs.messages import Reply
from tests.telegram.harness import SUBSCRIBER_ID, joined, texts_of

CONVERSATION = f"telegram:{SUBSCRIBER_ID}"


def sent(calls):
    return [call for call in calls if call.method == "sendMessage"]


async def transcript_of(tg, key: str = CONVERSATION):
    return await tg.container.transcript.history(key)


# -- the first contact --------------------------------------------------------------------------


async def test_start_command_greets_by_name_with_the_menu_as_inline_buttons(tg):
    calls = await tg.deliver(tg.updates.text("/start"))

    messages = sent(calls)
    assert messages, "the bot did not answer /start"
    assert all(call.params["chat_id"] == SUBSCRIBER_ID for call in messages)
    assert "Здравствуйте, Иван Петров!" in joined(texts_of(calls))
    buttons = [
        button
        for call in messages
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
        for button in row
    ]
    assert {"Баланс", "Как оплатить"} <= {button["text"] for button in buttons}
    assert all(len(button["callback_data"].encode()) <= 64 for button in buttons)
    # The engine saw /start as the "greet" request.
    history = await transcript_of(tg)
    assert history[0].direction == "in" and "greet" in history[0].text


async def test_russian_command_menu_is_published_at_startup(tg):
    calls = tg.api.calls_to("setMyCommands")
    assert calls, "setMyCommands was not called at startup"
    commands = {c["command"]: c["description"] for c in calls[-1].params["commands"]}
    assert set(commands) == {"start", "help", "logout"}
    assert all(any("а" <= ch.lower() <= "я" for ch in text) for text in commands.values())
    assert calls[-1].params["scope"] == {"type": "all_private_chats"}


async def test_help_and_logout_commands_reach_the_engine(tg):
    help_text = joined(await tg.say("/help"))
    assert "Я умею" in help_text
    logout_text = joined(await tg.say("/logout"))
    assert "не входили" in logout_text


async def test_command_addressed_to_the_bot_by_name_works(tg):
    texts = await tg.say(f"/help@{tg.api.username}")
    assert "Я умею" in joined(texts)


# -- security and parsing -------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"], ids=["missing", "empty", "wrong"])
async def test_wrong_or_missing_secret_is_forbidden_and_ignored(tg, secret):
    update = tg.updates.text("/start")
    response = await tg.post(update, secret=secret)
    assert response.status_code == 403
    await tg.channel.drain()
    assert not tg.api.calls_to("sendMessage")

    # The forbidden attempt did not "use up" the update: the genuine delivery works.
    assert (await tg.post(update)).status_code == 200
    await tg.channel.drain()
    assert tg.api.calls_to("sendMessage")


@pytest.mark.parametrize(
    "content",
    [b'{"update_id": 1, "message": ', b"\xff\xfe not json", b""],
    ids=["truncated", "binary", "empty"],
)
async def test_malformed_json_is_400(tg, content):
    response = await tg.post(content=content)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        [1, 2, 3],
        "update",
        {"message": {"text": "нет update_id"}},
        {"update_id": "not-a-number"},
        {"update_id": 77, "message": {"message_id": 1, "text": "нет chat и date"}},
    ],
    ids=["list", "string", "no-update-id", "bad-update-id", "broken-message"],
)
async def test_json_that_is_not_an_update_is_422(tg, body):
    response = await tg.post(body)
    assert response.status_code == 422
    await tg.channel.drain()
    assert not tg.api.calls_to("sendMessage")


async def test_update_of_a_kind_we_do_not_handle_is_acknowledged_and_ignored(tg):
    channel_post = {
        "update_id": 9001,
        "channel_post": {
            "message_id": 5,
            "chat": {"id": -1009876543210, "type": "channel", "title": "Новости"},
            "date": 1_700_000_000,
            "text": "Плановые работы",
        },
    }
    future_kind = {"update_id": 9002, "some_future_update": {"x": 1}}
    for update in (channel_post, future_kind):
        assert (await tg.post(update)).status_code == 200
    await tg.channel.drain()
    assert not tg.api.calls_to("sendMessage")


# -- de-duplication ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["engine reply", "adapter reply"])
async def test_a_redelivered_update_has_one_effect_and_one_reply(tg, kind):
    update = tg.updates.text("/start") if kind == "engine reply" else tg.updates.sticker()
    first = await tg.deliver(update)
    again = await tg.deliver(update)
    assert sent(first)
    assert again == []
    if kind == "engine reply":
        assert len([e for e in await transcript_of(tg) if e.direction == "in"]) == 1


async def test_concurrent_deliveries_of_one_update_answer_once(tg):
    update = tg.updates.text("/start")
    responses = await asyncio.gather(*(tg.post(update) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    await tg.channel.drain()
    history = await transcript_of(tg)
    assert [e.direction for e in history].count("in") == 1
    bot_lines = [e for e in history if e.direction == "bot"]
    assert len(tg.api.calls_to("sendMessage")) == len(bot_lines) >= 1


# -- what the adapter answers by itself ------------------------------------------------------------------


async def test_group_chat_gets_a_short_note_and_nothing_else(tg):
    first = await tg.deliver(tg.updates.group_text("/start"))
    second = await tg.deliver(tg.updates.group_text("какой у меня баланс 1000002"))

    notes = sent(first)
    assert len(notes) == 1
    assert notes[0].params["chat_id"] < 0
    assert "личн" in notes[0].params["text"]
    assert sent(second) == []  # not on every message of a busy group
    assert await transcript_of(tg, f"telegram:{notes[0].params['chat_id']}") == []
    assert await transcript_of(tg) == []


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document"])
async def test_non_text_messages_get_a_polite_note_without_the_engine(tg, kind):
    update = getattr(tg.updates, kind)()
    calls = await tg.deliver(update)
    texts = texts_of(calls)
    assert len(texts) == 1
    assert "текст" in texts[0] and "пожалуйста" in texts[0].lower()
    assert await transcript_of(tg) == []


async def test_edited_message_is_not_reread_but_answered_politely(tg):
    calls = await tg.deliver(tg.updates.edited_text("1000002"))
    texts = texts_of(calls)
    assert len(texts) == 1 and "новым сообщением" in texts[0]
    assert await transcript_of(tg) == []


# -- buttons ------------------------------------------------------------------------------------------------


async def test_button_press_stops_the_spinner_and_reaches_the_engine(tg):
    await tg.deliver(tg.updates.text("/start"))
    data, message = tg.find_button("Как оплатить")
    update = tg.updates.callback(data, message=message)
    calls = await tg.deliver(update)

    assert calls[0].method == "answerCallbackQuery"
    assert calls[0].params["callback_query_id"] == update["callback_query"]["id"]
    assert "оплат" in joined(texts_of(calls)).lower()


@pytest.mark.parametrize("data", ["garbage", "h:0123456789abcdef0123456789abcdef", "p:"])
async def test_a_button_we_did_not_issue_gets_answered_and_a_note(tg, data):
    calls = await tg.deliver(tg.updates.callback(data))
    assert calls[0].method == "answerCallbackQuery"
    assert "устарела" in joined(texts_of(calls))


# -- flood control and errors ----------------------------------------------------------------------------------


async def test_flood_control_retry_after_is_honoured(tg):
    tg.api.fail_next("sendMessage", retry_after=1)
    calls = await tg.deliver(tg.updates.text("/help"))

    attempts = sent(calls)
    assert len(attempts) == 2, "the message was not sent again after 429"
    assert attempts[0].params["text"] == attempts[1].params["text"]
    assert attempts[1].at - attempts[0].at >= 0.95


async def test_flood_control_longer_than_the_bound_gives_up_and_the_bot_goes_on(tg, caplog):
    tg.api.fail_next("sendMessage", retry_after=3600)
    calls = await tg.deliver(tg.updates.text("/help"))
    assert len(sent(calls)) == 1  # not retried: an hour is beyond the bound
    assert "flood control" in caplog.text

    assert "Я умею" in joined(await tg.say("/help"))


async def test_a_failing_update_is_logged_and_later_updates_are_answered(tg, caplog):
    tg.api.blocked_chats.add(SUBSCRIBER_ID)
    with caplog.at_level(logging.ERROR):
        calls = await tg.deliver(tg.updates.text("/start"))
    assert len(sent(calls)) == 1
    assert "Forbidden" in caplog.text

    tg.api.blocked_chats.clear()
    assert await tg.say("/help")


# -- acknowledge first, process after -----------------------------------------------------------------------------


async def test_webhook_is_acknowledged_before_slow_processing(tg):
    # The engine serialises a conversation's turns with this StateStore lock; holding
    # it makes the engine "slow" for this subscriber.
    async with tg.container.store.lock(f"lock:{CONVERSATION}", timeout=30, wait=5):
        response = await asyncio.wait_for(tg.post(tg.updates.text("/help")), 2)
        assert response.status_code == 200
        await asyncio.sleep(0.2)
        assert not tg.api.calls_to("sendMessage")
    await tg.channel.drain()
    assert "Я умею" in joined(tg.api.sent_texts(SUBSCRIBER_ID))


async def test_messages_of_one_chat_are_answered_in_order(tg):
    for text in ("/start", "/help", "/logout"):
        assert (await tg.post(tg.updates.text(text))).status_code == 200
    await tg.channel.drain()
    texts = tg.api.sent_texts(SUBSCRIBER_ID)
    order = [
        next(i for i, t in enumerate(texts) if "Здравствуйте" in t),
        next(i for i, t in enumerate(texts) if "Я умею" in t),
        next(i for i, t in enumerate(texts) if "не входили" in t),
    ]
    assert order == sorted(order)


# -- outbound (agents) -------------------------------------------------------------------------------------------------


async def test_agent_message_goes_out_through_the_registered_sender(tg):
    tg.api.fail_next("sendMessage", retry_after=1)
    await tg.container.delivery.send(CONVERSATION, [Reply("Здравствуйте, это оператор Анна. Чем помочь?")])
    attempts = tg.api.calls_to("sendMessage")
    assert len(attempts) == 2  # 429 first, then delivered
    assert attempts[-1].params == {"chat_id": SUBSCRIBER_ID, "text": "Здравствуйте, это оператор Анна. Чем помочь?"}


@pytest.mark.parametrize("depth", [900, 1000, 5000])
async def test_deeply_nested_json_is_400_not_500(tg, depth):
    """Issue 10: 1,000 levels once escaped json.loads as a RecursionError (500)."""
    body = ('{"update_id": 5, "message": ' + "[" * depth + "1" + "]" * depth + "}").encode()
    response = await tg.post(content=body)
    assert response.status_code == 400
