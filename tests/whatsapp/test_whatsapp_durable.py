"""WhatsApp's durable intake and outbound through the real app (each database): a
message is in the inbox before Twilio gets its 200 (503 when the database cannot take
it), bad code points are cleaned at the boundary, a reply Twilio refuses for a passing
reason is retried from the outbox, once."""

from __future__ import annotations

import asyncio

from bots.inbox import Inbox
from storage import make_engine, make_sessionmaker
from tests.whatsapp.harness import SUBSCRIBER, inbound_form

CONVERSATION = f"whatsapp:{SUBSCRIBER}"


async def test_a_nul_and_controls_are_answered_and_the_transcript_keeps_working(wa):
    form = inbound_form(SUBSCRIBER, "а\x00б\x01в", ProfileName="Або\x00нент")
    assert await wa.deliver(form), "the message with a NUL was not answered"
    assert await wa.say("Здравствуйте")
    entries = await wa.container.transcript.history(CONVERSATION)
    lines = [entry.text for entry in entries if entry.direction == "in"]
    assert lines[0] == "абв" and lines[-1] == "Здравствуйте"


async def test_a_message_is_in_the_inbox_when_acknowledged_and_a_retry_is_one_row(wa):
    form = inbound_form(SUBSCRIBER, "Здравствуйте")
    first = await wa.post("/webhooks/whatsapp", form)
    assert first.status_code == 200
    assert sum((await wa.container.inbox.counts("whatsapp")).values()) == 1
    assert (await wa.post("/webhooks/whatsapp", form)).status_code == 200  # Twilio's retry
    await wa.channel.drain()
    assert await wa.container.inbox.counts("whatsapp") == {"done": 1}
    replies = len(wa.api.messages_to(SUBSCRIBER))
    assert replies >= 1
    await wa.post("/webhooks/whatsapp", form)
    await wa.channel.drain()
    assert len(wa.api.messages_to(SUBSCRIBER)) == replies


async def test_a_message_the_database_cannot_record_gets_503_so_twilio_retries(wa, tmp_path):
    """A real database that is not there (a path in a missing directory), not a stub."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'inbox.db'}")
    durable = wa.channel._durable
    working, durable.inbox = durable.inbox, Inbox(make_sessionmaker(engine))
    form = inbound_form(SUBSCRIBER, "Здравствуйте")
    try:
        assert (await wa.post("/webhooks/whatsapp", form)).status_code == 503
    finally:
        durable.inbox = working
        await engine.dispose()
    await wa.channel.drain()
    assert wa.api.messages_to(SUBSCRIBER) == []
    assert await wa.deliver(form)  # the retry is taken and answered


async def test_a_reply_refused_for_a_passing_reason_is_delivered_once_from_the_outbox(wa):
    wa.api.fail_next(status=503, code=20503, message="Service Unavailable")
    assert (await wa.post("/webhooks/whatsapp", inbound_form(SUBSCRIBER, "Здравствуйте"))).status_code == 200
    await wa.channel.drain()
    assert wa.api.messages_to(SUBSCRIBER) == []  # refused
    for _ in range(150):  # the container's outbox worker: first backoff ~2 s
        if (await wa.container.outbox.counts()).get("sent"):
            break
        await asyncio.sleep(0.1)
    assert await wa.container.outbox.counts() == {"sent": 1}
    delivered = len(wa.api.messages_to(SUBSCRIBER))
    assert delivered >= 1
    await asyncio.sleep(1.5)
    assert len(wa.api.messages_to(SUBSCRIBER)) == delivered


async def test_a_message_whose_handling_fails_is_retried_by_the_inbox_not_marked_done(wa):
    """Redis away before the engine's turn (the 24-hour window could not be opened): the
    message is retried, then answered once — never marked done unanswered."""
    from tests.doubles.store_away import after_the_failure, away_once

    wa.container.inbox._retry_seconds = 0.3  # the backoff, short for the test
    failures = away_once(wa.container.store, "set", "wa:seen:")
    assert (await wa.post("/webhooks/whatsapp", inbound_form(SUBSCRIBER, "Как оплатить?"))).status_code == 200
    counts = await after_the_failure(failures, wa.container.inbox, "whatsapp")
    assert failures and wa.api.messages_to(SUBSCRIBER) == []
    assert counts == {"pending": 1}
    await asyncio.sleep(0.35)
    await wa.channel.drain()
    assert await wa.container.inbox.counts("whatsapp") == {"done": 1}
    assert len(wa.api.messages_to(SUBSCRIBER)) == 1  # the payment methods, once
