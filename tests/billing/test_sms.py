"""SMS senders (bots/sms): the outbox, and Twilio against the local Twilio REST double
(tests/doubles/twilio_api.py)."""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bots.sms.models import SmsOutbox
from bots.sms.outbox import OutboxSmsSender, mask_phone, pending_outbox
from bots.sms.twilio_sender import SmsSendError, TwilioSmsSender
from tests.doubles.twilio_api import FakeTwilioApi

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token"
FROM = "+15005550006"
TEXT = "Код подтверждения: 482913. Никому его не сообщайте."
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def test_mask_phone():
    assert mask_phone("+79000000001") == "+7900***01"


async def test_outbox_sender_queues_and_never_logs_the_text(db_sessions, caplog):
    sender = OutboxSmsSender(db_sessions, clock=lambda: NOW)

    with caplog.at_level(logging.INFO):
        await sender.send("+79000000001", TEXT)
        await sender.send("+79000000002", "второе")

    pending = await pending_outbox(db_sessions, limit=10)
    assert [(m.phone, m.text, m.status, m.created_at) for m in pending] == [
        ("+79000000001", TEXT, "pending", NOW),
        ("+79000000002", "второе", "pending", NOW),
    ]
    assert [m.phone for m in await pending_outbox(db_sessions, limit=1)] == ["+79000000001"]
    assert "SMS to +7900***01 queued in outbox" in caplog.text
    assert "482913" not in caplog.text
    assert "+79000000001" not in caplog.text


# -- Twilio ------------------------------------------------------------------------------------


@pytest.fixture
async def twilio_api():
    """The shared Twilio REST double (tests/doubles/twilio_api.py); it answers 401 for
    any other credentials, so a sent message proves the Basic auth too."""
    async with FakeTwilioApi(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as api:
        yield api


async def _outbox(db_sessions) -> list[SmsOutbox]:
    async with db_sessions() as session:
        return list(await session.scalars(select(SmsOutbox).order_by(SmsOutbox.id)))


async def test_twilio_sender_posts_the_message_and_records_the_sid(db_sessions, twilio_api, caplog):
    sender = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, FROM, twilio_api.base_url, db_sessions, clock=lambda: NOW)
    try:
        # INFO: the level a production log runs at (aiosqlite logs statement
        # parameters at DEBUG — the application must keep that logger quieter).
        with caplog.at_level(logging.INFO):
            await sender.send("+79000000001", TEXT)
    finally:
        await sender.aclose()

    (message,) = twilio_api.messages
    assert message.form == {"To": "+79000000001", "From": FROM, "Body": TEXT}

    (row,) = await _outbox(db_sessions)
    assert (row.phone, row.status, row.provider_sid, row.sent_at) == ("+79000000001", "sent", "SM" + "0" * 31 + "1", NOW)
    assert await pending_outbox(db_sessions, 10) == []
    assert "482913" not in caplog.text
    assert "SMS to +7900***01 handed to Twilio as SM" in caplog.text


async def test_twilio_refusal_marks_the_row_failed(db_sessions, twilio_api):
    twilio_api.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number: +7900000XXXX")
    sender = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, FROM, twilio_api.base_url + "/", db_sessions, clock=lambda: NOW)
    try:
        with pytest.raises(SmsSendError, match="21211"):
            await sender.send("+79000000001", TEXT)
    finally:
        await sender.aclose()

    (row,) = await _outbox(db_sessions)
    assert (row.status, row.provider_sid) == ("failed", None)


async def test_twilio_unreachable_marks_the_row_failed(db_sessions):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed_port = sock.getsockname()[1]
    sock.close()
    sender = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, FROM, f"http://127.0.0.1:{closed_port}", db_sessions)
    try:
        with pytest.raises(SmsSendError):
            await sender.send("+79000000001", TEXT)
    finally:
        await sender.aclose()

    assert [r.status for r in await _outbox(db_sessions)] == ["failed"]


async def test_outbox_logs_the_text_only_in_demo_mode(db_sessions, caplog):
    caplog.set_level(logging.INFO)
    await OutboxSmsSender(db_sessions, clock=lambda: NOW, log_text=True).send("+79000000001", TEXT)
    assert "(demo)" in caplog.text and TEXT in caplog.text
