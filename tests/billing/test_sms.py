"""SMS senders (bots/sms): the outbox, and Twilio against a local test double that
speaks Twilio's wire format for POST /2010-04-01/Accounts/{Sid}/Messages.json."""

from __future__ import annotations

import base64
import logging
import socket
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import pytest
from aiohttp import web
from sqlalchemy import select

from bots.sms.models import SmsOutbox
from bots.sms.outbox import OutboxSmsSender, mask_phone, pending_outbox
from bots.sms.twilio_sender import SmsSendError, TwilioSmsSender

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


def _message_resource(sid: str, form) -> dict:
    """A Message resource as Twilio returns it (201 Created), per Twilio's API reference."""
    uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": form["Body"],
        "date_created": "Fri, 20 Nov 2026 12:00:00 +0000",
        "date_sent": None,
        "date_updated": "Fri, 20 Nov 2026 12:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form["From"],
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": form["To"],
        "uri": uri,
    }


class TwilioDouble:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_with: tuple[int, dict] | None = None

    async def create_message(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests.append(
            {
                "path": request.path,
                "authorization": request.headers.get("Authorization", ""),
                "content_type": request.content_type,
                "form": dict(form),
            }
        )
        if request.match_info["sid"] != ACCOUNT_SID:
            return web.json_response({"code": 20404, "message": "not found", "status": 404}, status=404)
        if self.fail_with:
            status, body = self.fail_with
            return web.json_response(body, status=status)
        sid = f"SM{len(self.requests):032x}"
        return web.json_response(_message_resource(sid, form), status=201)


@asynccontextmanager
async def serve(double: TwilioDouble):
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", double.create_message)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def twilio_double():
    double = TwilioDouble()
    async with serve(double) as base_url:
        yield double, base_url


async def _outbox(db_sessions) -> list[SmsOutbox]:
    async with db_sessions() as session:
        return list(await session.scalars(select(SmsOutbox).order_by(SmsOutbox.id)))


async def test_twilio_sender_posts_the_message_and_records_the_sid(db_sessions, twilio_double, caplog):
    double, base_url = twilio_double
    sender = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, FROM, base_url, db_sessions, clock=lambda: NOW)
    try:
        # INFO: the level a production log runs at (aiosqlite logs statement
        # parameters at DEBUG — the application must keep that logger quieter).
        with caplog.at_level(logging.INFO):
            await sender.send("+79000000001", TEXT)
    finally:
        await sender.aclose()

    (request,) = double.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request["authorization"] == expected_auth
    assert request["form"] == {"To": "+79000000001", "From": FROM, "Body": TEXT}

    (row,) = await _outbox(db_sessions)
    assert (row.phone, row.status, row.provider_sid, row.sent_at) == ("+79000000001", "sent", "SM" + "0" * 31 + "1", NOW)
    assert await pending_outbox(db_sessions, 10) == []
    assert "482913" not in caplog.text
    assert "SMS to +7900***01 handed to Twilio as SM" in caplog.text


async def test_twilio_refusal_marks_the_row_failed(db_sessions, twilio_double):
    double, base_url = twilio_double
    double.fail_with = (
        400,
        {
            "code": 21211,
            "message": "Invalid 'To' Phone Number: +7900000XXXX",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )
    sender = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, FROM, base_url + "/", db_sessions, clock=lambda: NOW)
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
