"""Driving the product's ASGI app (real container, real dialog engine, the demo
subscribers) with the WhatsApp channel pointed at the local Twilio REST double.

Tests post Twilio's form-encoded webhooks, signed exactly as Twilio signs them
(``RequestValidator.compute_signature`` over the public URL and the form fields), and
read the form bodies the twilio library posted to the double.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, AsyncIterator
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from app.asgi import create_app
from app.container import Container, build_container
from app.settings import Settings
from billing.demo import load_demo_if_empty
from billing.passwords import INSECURE_FAST
from storage.clock import utc_now
from tests.doubles.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi, SentMessage

PUBLIC_BASE_URL = "https://support.example.ru"
BOT_NUMBER = "+14155238886"  # Twilio's WhatsApp sandbox number
SUBSCRIBER = "+79000000002"  # demo 1000002 (Уфа) has this phone on the contract
STRANGER = "+79990001122"  # on no contract
QUICK_REPLY_SIDS = ("HX" + "1" * 32, "HX" + "2" * 32, "HX" + "3" * 32)
WINDOW_TEMPLATE_SID = "HX" + "9" * 32


def whatsapp_settings(database_url: str, api: FakeTwilioApi, tmp_path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        redis_url=None,
        secret_key="test-secret-key-0123456789abcdef-0123456789",
        secret_key_file=tmp_path / "secret",
        demo=False,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=api.base_url,
        twilio_whatsapp_from=BOT_NUMBER,
        public_base_url=PUBLIC_BASE_URL,
    )
    values.update(overrides)
    return Settings(**values)


class MovableClock:
    """Real time plus an offset the test moves (the 24-hour window)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def sign(url: str, params: dict[str, str]) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(url, params)


_sids = itertools.count(1)


def new_message_sid() -> str:
    return f"SM{next(_sids):08d}" + "f" * 24


def inbound_form(sender: str, body: str = "", **extra: str) -> dict[str, str]:
    """An inbound WhatsApp message as Twilio posts it (the fields of its docs)."""
    sid = extra.pop("MessageSid", None) or new_message_sid()
    form = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": "Абонент",
        "MessageType": "text",
        "SmsSid": sid,
        "WaId": sender.lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": f"whatsapp:{BOT_NUMBER}",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{sender}",
        "ApiVersion": "2010-04-01",
    }
    form.update(extra)
    return form


@dataclass
class WhatsAppHarness:
    api: FakeTwilioApi
    client: httpx.AsyncClient
    app: Any
    clock: MovableClock
    phone: str = SUBSCRIBER

    @property
    def channel(self):
        return self.app.state.channels["whatsapp"]

    @property
    def container(self):
        return self.app.state.container

    async def post(
        self, path: str, form: dict[str, str], *, signature: str | None = "sign", content: bytes | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> httpx.Response:
        headers = {"Content-Type": content_type}
        if signature == "sign":
            headers["X-Twilio-Signature"] = sign(PUBLIC_BASE_URL + path, form)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        body = content if content is not None else urlencode(form).encode()
        return await self.client.post(path, content=body, headers=headers)

    async def deliver(self, form: dict[str, str]) -> list[SentMessage]:
        """Post an inbound message, wait until it is processed; the messages sent since."""
        start = len(self.api.messages)
        response = await self.post("/webhooks/whatsapp", form)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        await self.channel.drain()
        return self.api.messages[start:]

    async def say(self, text: str, *, phone: str | None = None) -> list[str]:
        return [m.text for m in await self.deliver(inbound_form(phone or self.phone, text))]

    async def choose(self, title_part: str) -> list[str]:
        """Answer the newest numbered menu with the digit of the item ``title_part``."""
        for message in reversed(self.api.messages_to(self.phone)):
            for number, title in re.findall(r"^(\d+) — (.+)$", message.body or "", re.M):
                if title_part.lower() in title.lower():
                    return await self.say(number)
        raise AssertionError(f"no menu item with {title_part!r}")

    async def status(self, form: dict[str, str]) -> httpx.Response:
        return await self.post("/webhooks/whatsapp/status", form)


def joined(texts: list[str]) -> str:
    return "\n".join(texts)


async def container_with_demo_subscribers(settings: Settings, clock) -> Container:
    """The real container plus billing/demo_subscribers.csv, hashed with a cheap argon2
    profile (the product's hashing costs seconds per test)."""
    container = await build_container(settings, clock=clock)
    await load_demo_if_empty(container.sessions, container.directory, container.clock(), profile=INSECURE_FAST)
    return container


@contextlib.asynccontextmanager
async def whatsapp_app(settings: Settings, api: FakeTwilioApi) -> AsyncIterator[WhatsAppHarness]:
    clock = MovableClock()

    async def factory(s: Settings) -> Container:
        return await container_with_demo_subscribers(s, clock)

    app = create_app(settings, container_factory=factory)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield WhatsAppHarness(api=api, client=client, app=app, clock=clock)
