"""Telegram's durable intake and outbound through the real app: updates are recorded
in the inbox before the 200 (503 when the database cannot take them), processed by
the inbox worker, text cleaned at the boundary, refused replies retried from the
outbox. On both databases where the database matters."""

from __future__ import annotations

import asyncio
import json

import pytest

from bots.inbox import Inbox
from storage import make_engine, make_sessionmaker
from tests.telegram.harness import SUBSCRIBER_ID, telegram_app, telegram_settings

CONVERSATION = f"telegram:{SUBSCRIBER_ID}"


@pytest.fixture
async def tg_db(database_url, bot_api, tmp_path):
    async with telegram_app(telegram_settings(database_url, bot_api, tmp_path), bot_api) as harness:
        yield harness


async def user_lines(harness) -> list[str]:
    entries = await harness.container.transcript.history(CONVERSATION)
    return [entry.text for entry in entries if entry.direction == "in"]


@pytest.mark.parametrize("raw_text, stored", [("a\\u0000b", "ab"), ("\\ud800x\\u0001y", "xy")])
async def test_bad_code_points_are_answered_and_the_transcript_keeps_working(tg_db, raw_text, stored):
    update = tg_db.updates.text("placeholder")
    body = json.dumps(update).replace('"placeholder"', f'"{raw_text}"').encode()
    response = await tg_db.post(content=body)
    assert response.status_code == 200, response.text
    await tg_db.channel.drain()
    assert tg_db.api.sent_texts(SUBSCRIBER_ID), "the poisoned message was not answered"

    assert await tg_db.say("Здравствуйте")  # a later message is answered and recorded too
    lines = await user_lines(tg_db)
    assert lines[0] == stored and lines[-1] == "Здравствуйте"


async def test_an_update_is_in_the_inbox_when_acknowledged_and_done_after(tg_db):
    response = await tg_db.post(tg_db.updates.text("Здравствуйте"))
    assert response.status_code == 200 and response.json()["reason"] == "accepted"
    counts = await tg_db.container.inbox.counts("telegram")
    assert sum(counts.values()) == 1  # recorded before the answer (pending or taken already)
    await tg_db.channel.drain()
    assert await tg_db.container.inbox.counts("telegram") == {"done": 1}


async def test_a_redelivered_update_is_recorded_and_answered_once(tg_db):
    update = tg_db.updates.text("Здравствуйте")
    first = await tg_db.post(update)
    second = await tg_db.post(update)
    assert (first.json()["reason"], second.json()["reason"]) == ("accepted", "duplicate")
    await tg_db.channel.drain()
    assert await tg_db.container.inbox.counts("telegram") == {"done": 1}
    replies = len(tg_db.api.sent_texts(SUBSCRIBER_ID))
    assert replies >= 1
    await tg_db.post(update)
    await tg_db.channel.drain()
    assert len(tg_db.api.sent_texts(SUBSCRIBER_ID)) == replies


async def test_an_update_the_database_cannot_record_gets_503_so_telegram_retries(tg, tmp_path):
    """A real database that is not there (a path in a missing directory), not a stub."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'inbox.db'}")
    durable = tg.channel.intake.durable
    working, durable.inbox = durable.inbox, Inbox(make_sessionmaker(engine))
    try:
        update = tg.updates.text("Здравствуйте")
        response = await tg.post(update)
        assert response.status_code == 503 and not response.json()["ok"]
    finally:
        durable.inbox = working
        await engine.dispose()
    await tg.channel.drain()
    assert tg.api.sent_texts(SUBSCRIBER_ID) == []  # not acknowledged: nothing happened
    assert (await tg.post(update)).status_code == 200  # Telegram's retry is taken
    await tg.channel.drain()
    assert tg.api.sent_texts(SUBSCRIBER_ID)


async def test_updates_recorded_before_a_restart_are_answered_after_it(database_url, bot_api, tmp_path):
    """What a process recorded and did not finish (it died) is processed by the next one."""
    settings = telegram_settings(database_url, bot_api, tmp_path)
    async with telegram_app(settings, bot_api) as first:
        updates = first.updates
    # A row as a process that acknowledged it and died before processing left it.
    engine = make_engine(database_url)
    try:
        update = updates.text("Здравствуйте")
        assert await Inbox(make_sessionmaker(engine)).record(
            "telegram", str(update["update_id"]), f"telegram:chat:{SUBSCRIBER_ID}", json.dumps(update)
        )
    finally:
        await engine.dispose()
    async with telegram_app(settings, bot_api) as second:
        await second.channel.drain()
        assert len(bot_api.sent_texts(SUBSCRIBER_ID)) >= 1
        assert await second.container.inbox.counts("telegram") == {"done": 1}


async def test_a_reply_refused_for_a_passing_reason_is_delivered_once_from_the_outbox(tg):
    tg.api.fail_next_with("sendMessage", 502, "Bad Gateway")
    response = await tg.post(tg.updates.text("Здравствуйте"))
    assert response.status_code == 200
    await tg.channel.drain()
    # The container's outbox worker retries (first backoff ~2 s).
    await tg.api.wait_for("sendMessage", 2, timeout=15.0)
    await tg.api.quiet(0.5)
    texts = [call.params["text"] for call in tg.api.calls_to("sendMessage")]
    assert len(texts) == 2 and texts[0] == texts[1]  # the refused try and the delivered one
    assert (await tg.container.outbox.counts()) == {"sent": 1}


async def test_an_update_whose_handling_fails_is_retried_by_the_inbox_not_marked_done(tg_db):
    """The combined fault run lost updates acknowledged around a Redis outage: a handler
    error (the store away) was logged and swallowed, so the inbox marked the update done
    and it was never answered. Now the inbox retries it."""
    from tests.doubles.store_away import after_the_failure, away_once

    tg_db.container.inbox._retry_seconds = 0.3  # the backoff, short for the test
    failures = away_once(tg_db.container.store, "set_if_absent", "tg:group-note:")
    group_id = -1001234567890
    response = await tg_db.post(tg_db.updates.group_text("всем привет", group_id=group_id))
    assert response.status_code == 200
    counts = await after_the_failure(failures, tg_db.container.inbox, "telegram")
    assert failures and tg_db.api.sent_texts(group_id) == []
    assert counts == {"pending": 1}  # not done: retried

    await asyncio.sleep(0.35)
    await tg_db.channel.drain()
    assert await tg_db.container.inbox.counts("telegram") == {"done": 1}
    assert len(tg_db.api.sent_texts(group_id)) == 1  # the group is told once, after the retry
