"""``set_webhook`` (for ``isp-support telegram set-webhook``) and ``run_polling``
(for ``isp-support telegram poll``) against the Bot API double."""

from __future__ import annotations

import asyncio

import pytest

from app.container import build_container
from bots.telegram import TelegramNotConfigured, run_polling, set_webhook
from tests.doubles.telegram_bot_api import TelegramUser, UpdateFactory
from tests.telegram.harness import WEBHOOK_SECRET, telegram_settings


async def test_set_webhook_registers_the_endpoint_with_the_secret_and_the_commands(bot_api, sqlite_url, tmp_path):
    settings = telegram_settings(sqlite_url, bot_api, tmp_path)

    url = await set_webhook(settings)

    assert url == "https://support.example.ru/webhooks/telegram"
    call = bot_api.calls_to("setWebhook")[-1]
    assert call.params["url"] == url
    assert call.params["secret_token"] == WEBHOOK_SECRET
    assert {"message", "callback_query"} <= set(call.params["allowed_updates"])
    assert bot_api.webhook.url == url and bot_api.webhook.secret_token == WEBHOOK_SECRET
    commands = bot_api.calls_to("setMyCommands")[-1].params["commands"]
    assert [c["command"] for c in commands] == ["start", "help", "logout"]


async def test_set_webhook_keeps_a_url_that_names_its_path(bot_api, sqlite_url, tmp_path):
    settings = telegram_settings(
        sqlite_url, bot_api, tmp_path, telegram_webhook_url="https://edge.example.ru/isp/webhooks/telegram"
    )
    assert await set_webhook(settings) == "https://edge.example.ru/isp/webhooks/telegram"


@pytest.mark.parametrize("missing", ["telegram_webhook_url", "telegram_webhook_secret", "telegram_bot_token"])
async def test_set_webhook_refuses_without_url_secret_or_token(bot_api, sqlite_url, tmp_path, missing):
    settings = telegram_settings(sqlite_url, bot_api, tmp_path, **{missing: None})
    with pytest.raises(TelegramNotConfigured, match=missing.upper()):
        await set_webhook(settings)
    assert not bot_api.calls_to("setWebhook")


async def test_long_polling_answers_queued_and_new_updates_once(bot_api, sqlite_url, tmp_path):
    settings = telegram_settings(sqlite_url, bot_api, tmp_path)
    await set_webhook(settings)  # a webhook left over: polling must remove it first
    container = await build_container(settings)
    updates = UpdateFactory(TelegramUser(id=424242))
    first = bot_api.push_update(updates.text("/help"))
    bot_api.push_update(first)  # re-delivered, e.g. after a crash before the offset was confirmed

    stop = asyncio.Event()
    polling = asyncio.create_task(run_polling(settings, container, stop=stop, polling_timeout=1))
    try:
        await bot_api.wait_for("sendMessage", 1, timeout=10)
        later = bot_api.push_update(updates.text("/logout"))  # arrives while a getUpdates is waiting
        await bot_api.wait_for("sendMessage", 2, timeout=10)
        await bot_api.quiet(0.3)
        assert container.delivery.has("telegram")
    finally:
        stop.set()
        await asyncio.wait_for(polling, 10)
        await container.close()

    texts = bot_api.sent_texts(424242)
    assert len(texts) == 2
    assert "Я умею" in texts[0] and "не входили" in texts[1]
    methods = [call.method for call in bot_api.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    # What was taken is confirmed: a later poller does not get it again.
    assert bot_api.calls_to("getUpdates")[-1].params["offset"] == later["update_id"] + 1


async def test_set_webhook_refuses_a_secret_telegram_would_reject(bot_api, sqlite_url, tmp_path):
    settings = telegram_settings(sqlite_url, bot_api, tmp_path, telegram_webhook_secret="пароль с пробелами")
    with pytest.raises(TelegramNotConfigured, match="TELEGRAM_WEBHOOK_SECRET"):
        await set_webhook(settings)
    assert not bot_api.calls_to("setWebhook")


async def test_long_polling_records_updates_in_the_inbox_and_cleans_their_text(bot_api, sqlite_url, tmp_path):
    settings = telegram_settings(sqlite_url, bot_api, tmp_path)
    container = await build_container(settings)
    updates = UpdateFactory(TelegramUser(id=434343))
    bot_api.push_update(updates.text("при\u0000вет"))
    bot_api.push_update(updates.text("/help"))

    stop = asyncio.Event()
    polling = asyncio.create_task(run_polling(settings, container, stop=stop, polling_timeout=1))
    try:
        await bot_api.wait_for("sendMessage", 2, timeout=15)
        await bot_api.quiet(0.5)
        for _ in range(50):  # the row is marked done right after the reply went out
            if await container.inbox.counts("telegram") == {"done": 2}:
                break
            await asyncio.sleep(0.1)
        assert await container.inbox.counts("telegram") == {"done": 2}
        lines = [e.text for e in await container.transcript.history("telegram:434343") if e.direction == "in"]
        assert lines[0] == "привет"
    finally:
        stop.set()
        await asyncio.wait_for(polling, 10)
        await container.close()
