"""Viber's durable intake and outbound through the real app (each database): a message
is in the inbox before Viber gets its 200 (503 when the database cannot take it), bad
code points are cleaned at the boundary, deep JSON is a 400, a reply Viber refuses for
a passing reason is retried from the outbox, once. ``conversation_started`` is still
answered in the HTTP response."""

from __future__ import annotations

import asyncio
import json

import pytest

from bots.inbox import Inbox
from storage import make_engine, make_sessionmaker
from tests.viber.harness import texts_of, viber_app, viber_settings


@pytest.fixture
async def vb(database_url, viber_api, tmp_path):
    async with viber_app(viber_settings(database_url, viber_api, tmp_path), viber_api) as harness:
        yield harness


def conversation(vb) -> str:
    return f"viber:{vb.user_id}"


@pytest.mark.parametrize("raw_text, stored", [("a\\u0000b", "ab"), ("\\ud800x\\u0001y", "xy")])
async def test_bad_code_points_are_answered_and_the_transcript_keeps_working(vb, raw_text, stored):
    vb.callbacks.user.name = "Иван\u0000"
    callback = vb.callbacks.text("placeholder")
    body = json.dumps(callback, ensure_ascii=False).replace('"placeholder"', f'"{raw_text}"').encode()
    vb.api.user_replied(vb.user_id)
    assert (await vb.post(content=body)).status_code == 200
    await vb.channel.drain()
    assert vb.api.sent(vb.user_id), "the poisoned message was not answered"
    assert await vb.say("Здравствуйте")
    entries = await vb.container.transcript.history(conversation(vb))
    lines = [entry.text for entry in entries if entry.direction == "in"]
    assert lines[0] == stored and lines[-1] == "Здравствуйте"


@pytest.mark.parametrize("depth", [1000, 5000])
async def test_deeply_nested_json_is_a_400(vb, depth):
    response = await vb.post(content=("[" * depth + "]" * depth).encode())
    assert response.status_code == 400


async def test_a_message_is_in_the_inbox_when_acknowledged_and_a_retry_is_one_row(vb):
    callback = vb.callbacks.text("Здравствуйте")
    assert (await vb.post(callback)).status_code == 200
    assert sum((await vb.container.inbox.counts("viber")).values()) == 1
    assert (await vb.post(callback)).status_code == 200  # Viber's retry
    await vb.channel.drain()
    assert await vb.container.inbox.counts("viber") == {"done": 1}
    replies = len(vb.api.sent(vb.user_id))
    assert replies >= 1
    await vb.post(callback)
    await vb.channel.drain()
    assert len(vb.api.sent(vb.user_id)) == replies


async def test_conversation_started_is_still_answered_in_the_response(vb):
    body = await vb.open_conversation()
    assert body.get("text") and body.get("keyboard")
    assert await vb.container.inbox.counts("viber") == {}


async def test_a_message_the_database_cannot_record_gets_503_so_viber_retries(vb, tmp_path):
    """A real database that is not there (a path in a missing directory), not a stub."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'inbox.db'}")
    durable = vb.channel._durable
    working, durable.inbox = durable.inbox, Inbox(make_sessionmaker(engine))
    callback = vb.callbacks.text("Здравствуйте")
    try:
        assert (await vb.post(callback)).status_code == 503
    finally:
        durable.inbox = working
        await engine.dispose()
    await vb.channel.drain()
    assert vb.api.sent(vb.user_id) == []
    assert texts_of(await vb.deliver(callback))  # the retry is taken and answered


async def test_a_reply_refused_for_a_passing_reason_is_delivered_once_from_the_outbox(vb):
    vb.api.fail_next("send_message", http_error=500)
    assert (await vb.post(vb.callbacks.text("Здравствуйте"))).status_code == 200
    await vb.channel.drain()
    refused = vb.api.sent(vb.user_id)  # the double lists the refused call too
    assert len(refused) == 1
    for _ in range(150):  # the container's outbox worker: first backoff ~2 s
        if (await vb.container.outbox.counts()).get("sent"):
            break
        await asyncio.sleep(0.1)
    assert await vb.container.outbox.counts() == {"sent": 1}
    await asyncio.sleep(1.5)
    calls = vb.api.sent(vb.user_id)
    assert len(calls) == 2 and calls[1]["text"] == refused[0]["text"]  # delivered once


async def test_a_message_whose_handling_fails_is_retried_by_the_inbox_not_marked_done(vb):
    """Redis away before the engine's turn (the subscriber's last message time could
    not be kept): the message is retried, then answered once — never marked done unanswered."""
    from tests.doubles.store_away import after_the_failure, away_once

    vb.container.inbox._retry_seconds = 0.3  # the backoff, short for the test
    failures = away_once(vb.container.store, "set", "viber:last-in:")
    vb.api.user_replied(vb.user_id)
    assert (await vb.post(vb.callbacks.text("Как оплатить?"))).status_code == 200
    counts = await after_the_failure(failures, vb.container.inbox, "viber")
    assert failures and vb.api.sent(vb.user_id) == []
    assert counts == {"pending": 1}
    await asyncio.sleep(0.35)
    await vb.channel.drain()
    assert await vb.container.inbox.counts("viber") == {"done": 1}
    assert any("оплат" in text.lower() for text in texts_of(vb.api.sent(vb.user_id)))  # answered, once:
    assert len(vb.api.sent(vb.user_id)) == len({m["text"] for m in vb.api.sent(vb.user_id)})
