"""Several app processes behind one webhook URL share the StateStore (Redis): an update
Telegram re-delivers to another process is still answered once."""

from __future__ import annotations

import asyncio

import pytest

from tests.telegram.harness import SUBSCRIBER_ID, telegram_app, telegram_settings

pytestmark = pytest.mark.redis


async def test_two_processes_answer_a_redelivered_update_once(redis_url, bot_api, sqlite_url, tmp_path):
    settings = telegram_settings(sqlite_url, bot_api, tmp_path, redis_url=redis_url)
    async with telegram_app(settings, bot_api) as first, telegram_app(settings, bot_api) as second:
        sticker = first.updates.sticker()  # an adapter-only reply: only the adapter's guard stops a double
        command = first.updates.text("/help")  # an engine reply
        responses = await asyncio.gather(
            first.post(sticker), second.post(sticker), first.post(command), second.post(command)
        )
        assert [r.status_code for r in responses] == [200] * 4
        await asyncio.gather(first.channel.drain(), second.channel.drain())

    texts = bot_api.sent_texts(SUBSCRIBER_ID)
    assert len([t for t in texts if "текст" in t]) == 1
    assert len([t for t in texts if "Я умею" in t]) == 1
