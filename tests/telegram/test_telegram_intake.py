"""The update intake on its own: a real aiogram Dispatcher with recording handlers,
real Update objects, the in-process or Redis StateStore.

Ordering per chat, one effect per update_id, one bad (or hanging) update never blocks
the next, and bounded concurrency."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message, Update

from bots.telegram.intake import IntakeLimits, UpdateIntake
from bots.telegram.state import TelegramState
from dialogs.state.memory import MemoryStateStore
from tests.doubles.telegram_bot_api import DEFAULT_TOKEN, TelegramUser, UpdateFactory

OnMessage = Callable[[Message], Awaitable[None]]


def updates_for(user_id: int) -> UpdateFactory:
    """Updates of one private chat; update ids do not collide with other chats'."""
    return UpdateFactory(TelegramUser(id=user_id), update_ids=itertools.count(user_id * 1_000))


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot(token=DEFAULT_TOKEN)  # never calls the Bot API here: the handlers only record
    yield bot
    await bot.session.close()


@pytest.fixture
def make_intake(bot):
    """An intake feeding a dispatcher whose one message handler is ``on_message``."""
    def make(on_message: OnMessage, *, store=None, webhook_secret=None, **limits) -> UpdateIntake:
        router = Router()

        @router.message()
        async def any_message(message: Message) -> None:
            await on_message(message)

        dispatcher = Dispatcher()
        dispatcher.include_router(router)
        state = TelegramState(store or MemoryStateStore())
        intake = UpdateIntake(bot, dispatcher, state, webhook_secret=webhook_secret, limits=IntakeLimits(**limits))
        return intake

    return make


def parsed(bot: Bot, raw: dict) -> Update:
    return Update.model_validate(raw, context={"bot": bot})


async def soon(condition: Callable[[], object], timeout: float = 1.0) -> None:
    """Let the background tasks run until ``condition()`` holds (or ``timeout``)."""
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)


async def test_updates_of_one_chat_are_handled_in_arrival_order_while_other_chats_go_on(bot, make_intake):
    seen: list[tuple[int, str]] = []
    release_first = asyncio.Event()

    async def on_message(message: Message) -> None:
        if message.text == "счёт":
            await release_first.wait()  # the first message of chat 1 is slow
        seen.append((message.chat.id, message.text))

    intake = make_intake(on_message)
    chat_1, chat_2 = updates_for(1), updates_for(2)
    for raw in (chat_1.text("счёт"), chat_1.text("пароль"), chat_2.text("привет"), chat_1.text("баланс")):
        intake.submit(parsed(bot, raw), claimed=False)

    await soon(lambda: seen)  # chat 2 is not held up by chat 1
    assert seen == [(2, "привет")]

    release_first.set()
    await intake.drain()
    assert [text for chat, text in seen if chat == 1] == ["счёт", "пароль", "баланс"]
    assert len(intake.chat_locks) == 0  # a chat's lock goes when its last update is done


async def test_a_redelivered_update_has_one_effect_by_webhook_and_by_polling(bot, make_intake, state_store):
    handled: list[int] = []

    async def on_message(message: Message) -> None:
        handled.append(message.message_id)

    intake = make_intake(on_message, store=state_store)
    webhook_update = updates_for(3).text("баланс")
    body = json.dumps(webhook_update).encode()
    outcomes = await asyncio.gather(*(intake.accept_webhook(body) for _ in range(5)))
    assert sorted(outcome.reason for outcome in outcomes) == ["accepted"] + ["duplicate"] * 4

    polled_raw = updates_for(4).text("баланс")
    polled = parsed(bot, polled_raw)
    intake.submit(polled, claimed=False)
    intake.submit(polled, claimed=False)  # getUpdates gave it again (offset not confirmed)
    await intake.drain()
    # ...and Telegram also posted it to the webhook of another process.
    assert (await intake.accept_webhook(json.dumps(polled_raw).encode())).reason == "duplicate"
    await intake.drain()

    assert sorted(handled) == sorted([webhook_update["message"]["message_id"], polled.message.message_id])


async def test_a_failing_update_is_logged_without_its_content_and_the_next_one_is_handled(bot, make_intake, caplog):
    handled: list[str] = []

    async def on_message(message: Message) -> None:
        if message.text.startswith("пароль"):
            raise ValueError(f"cannot read {message.text}")
        handled.append(message.text)

    intake = make_intake(on_message)
    chat = updates_for(5)
    with caplog.at_level(logging.ERROR):
        for text in ("пароль qwerty123", "баланс"):
            intake.submit(parsed(bot, chat.text(text)), claimed=False)
        await intake.drain()

    assert handled == ["баланс"]
    assert "ValueError" in caplog.text
    assert "qwerty123" not in caplog.text  # the error's message may quote the subscriber


async def test_a_hanging_update_times_out_and_the_chat_goes_on(bot, make_intake, caplog):
    handled: list[str] = []

    async def on_message(message: Message) -> None:
        if message.text == "зависнет":
            await asyncio.Event().wait()
        handled.append(message.text)

    intake = make_intake(on_message, processing_timeout=0.2)
    chat = updates_for(6)
    for text in ("зависнет", "баланс"):
        intake.submit(parsed(bot, chat.text(text)), claimed=False)
    await asyncio.wait_for(intake.drain(), 5)

    assert handled == ["баланс"]
    assert "not processed: TimeoutError" in caplog.text


async def test_no_more_than_concurrency_updates_run_at_once(bot, make_intake):
    running = peak = 0
    handled: list[int] = []

    async def on_message(message: Message) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        handled.append(message.chat.id)

    intake = make_intake(on_message, concurrency=2)
    for user_id in range(10, 18):  # eight chats: nothing orders them but the pool
        intake.submit(parsed(bot, updates_for(user_id).text("баланс")), claimed=False)
    assert intake.pending == 8  # accepted at once, processed two at a time
    await intake.drain()

    assert peak == 2
    assert sorted(handled) == list(range(10, 18))


async def test_polling_back_pressure_waits_for_room(bot, make_intake):
    release = asyncio.Event()

    async def on_message(message: Message) -> None:
        await release.wait()

    intake = make_intake(on_message, concurrency=1)
    for user_id in (20, 21):
        intake.submit(parsed(bot, updates_for(user_id).text("баланс")), claimed=False)

    waiting = asyncio.ensure_future(intake.wait_for_capacity(2))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    release.set()
    await asyncio.wait_for(waiting, 5)
    await intake.drain()


async def test_close_lets_work_finish_within_the_grace_and_cancels_the_rest(bot, make_intake, caplog):
    finished: list[str] = []

    async def on_message(message: Message) -> None:
        await asyncio.sleep(0.05 if message.text == "быстро" else 60)
        finished.append(message.text)

    intake = make_intake(on_message)
    intake.submit(parsed(bot, updates_for(30).text("быстро")), claimed=False)
    intake.submit(parsed(bot, updates_for(31).text("долго")), claimed=False)
    await asyncio.wait_for(intake.close(grace=0.5), 5)

    assert finished == ["быстро"]
    assert intake.pending == 0
    assert "1 update(s) cancelled at shutdown" in caplog.text


@pytest.mark.parametrize(
    "header, accepted",
    [("s3cret", True), ("s3cret ", False), ("", False), (None, False)],
)
async def test_the_webhook_secret_must_match_exactly(bot, make_intake, header, accepted):
    async def on_message(message: Message) -> None:
        pass

    assert make_intake(on_message, webhook_secret="s3cret").secret_matches(header) is accepted
    assert make_intake(on_message, webhook_secret=None).secret_matches(header) is False


async def test_a_busy_chat_does_not_take_the_slots_other_chats_need(bot, make_intake):
    release = asyncio.Event()
    handled: list[tuple[int, str]] = []

    async def on_message(message: Message) -> None:
        if message.text == "медленно":
            await release.wait()
        handled.append((message.chat.id, message.text))

    intake = make_intake(on_message, concurrency=2)
    busy = updates_for(40)
    intake.submit(parsed(bot, busy.text("медленно")), claimed=False)
    for n in range(5):  # queued behind the slow one, in the same chat
        intake.submit(parsed(bot, busy.text(f"ещё {n}")), claimed=False)
    intake.submit(parsed(bot, updates_for(41).text("баланс")), claimed=False)

    await soon(lambda: handled)
    assert handled == [(41, "баланс")]

    release.set()
    await intake.drain()
    assert [text for chat, text in handled if chat == 40] == ["медленно"] + [f"ещё {n}" for n in range(5)]
