"""Driving the product's ASGI app (real container, real dialog engine, optionally the
demo subscribers) with the Viber channel pointed at the local Viber API double.

Tests post signed callback JSON to ``POST /webhooks/viber`` and read the
``send_message`` calls the adapter made to the double.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx

from app.asgi import create_app
from app.container import Container, build_container
from app.settings import Settings
from billing.demo import load_demo_if_empty
from billing.passwords import INSECURE_FAST
from tests.doubles.viber_api import DEFAULT_TOKEN, CallbackFactory, FakeViberApi, signed

WEBHOOK = "/webhooks/viber"


def viber_settings(database_url: str, api: FakeViberApi, tmp_path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        redis_url=None,
        secret_key="test-secret-key-0123456789abcdef-0123456789",
        secret_key_file=tmp_path / "secret",
        demo=False,
        viber_auth_token=DEFAULT_TOKEN,
        viber_api_base=api.base_url,
        viber_sender_name="Зелёная точка",
        viber_sender_avatar="https://example.ru/zt.jpg",
        viber_webhook_url="https://support.example.ru",
        viber_retry_wait_seconds=0.05,
        _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class ViberHarness:
    api: FakeViberApi
    client: httpx.AsyncClient
    app: Any
    callbacks: CallbackFactory

    @property
    def channel(self):
        return self.app.state.channels["viber"]

    @property
    def container(self):
        return self.app.state.container

    @property
    def user_id(self) -> str:
        return self.callbacks.user.id

    async def post(self, callback: dict | None = None, *, content: bytes | None = None,
                   signature: str | None = None, sign: bool = True) -> httpx.Response:
        if content is None:
            content, headers = signed(callback)
        else:
            _, headers = signed({})
            headers["X-Viber-Content-Signature"] = signed_raw(content)
        if signature is not None:
            headers["X-Viber-Content-Signature"] = signature
        if not sign:
            headers.pop("X-Viber-Content-Signature")
        return await self.client.post(WEBHOOK, content=content, headers=headers)

    async def deliver(self, callback: dict) -> list[dict]:
        """Post a callback as Viber does, wait until it is processed; the
        ``send_message`` bodies it caused, in order."""
        start = len(self.api.calls)
        if callback["event"] == "message":
            self.api.user_replied(callback["sender"]["id"])
        response = await self.post(callback)
        assert response.status_code == 200, response.text
        await self.channel.drain()
        sent = [call.body for call in self.api.calls[start:] if call.method == "send_message"]
        self._remember_tracking_data(sent)
        return sent

    def _remember_tracking_data(self, sent: list[dict]) -> None:
        # Viber returns the tracking_data of the bot's last message with the next reply.
        if sent:
            self.callbacks.last_tracking_data = sent[-1].get("tracking_data")

    async def open_conversation(self) -> dict:
        """``conversation_started``: the welcome message is the HTTP answer."""
        response = await self.post(self.callbacks.conversation_started())
        assert response.status_code == 200, response.text
        body = response.json()
        self._remember_tracking_data([body])
        self.last_keyboard = body.get("keyboard")
        return body

    async def say(self, text: str) -> list[str]:
        return texts_of(await self.deliver(self.callbacks.text(text)))

    async def share_phone(self, phone: str) -> list[str]:
        return texts_of(await self.deliver(self.callbacks.contact(phone)))

    def keyboard(self) -> dict | None:
        """The keyboard the subscriber sees: the one on the bot's last message."""
        for call in reversed(self.api.calls_to("send_message")):
            return call.body.get("keyboard")
        return getattr(self, "last_keyboard", None)

    def button(self, title_part: str) -> dict:
        keyboard = self.keyboard() or {}
        for button in keyboard.get("Buttons", []):
            if title_part.lower() in button["Text"].lower():
                return button
        titles = [b["Text"] for b in keyboard.get("Buttons", [])]
        raise AssertionError(f"no button with {title_part!r}; keyboard: {titles}")

    async def press(self, title_part: str) -> list[str]:
        """Press a ``reply`` button: Viber sends its ActionBody as the message text."""
        return await self.say(self.button(title_part)["ActionBody"])


def signed_raw(content: bytes) -> str:
    from tests.doubles.viber_api import signature

    return signature(content)


def texts_of(bodies: list[dict]) -> list[str]:
    return [body["text"] for body in bodies]


def joined(texts: list[str]) -> str:
    return "\n".join(texts)


class Clock:
    """A clock tests move by hand (the container and the channel read it)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def container_factory(*, demo: bool, clock: Clock | None) -> Callable[[Settings], Awaitable[Container]]:
    async def build(settings: Settings) -> Container:
        container = await (build_container(settings, clock=clock) if clock else build_container(settings))
        if demo:  # the demo subscribers (1000001/demo1 …), hashed cheaply
            await load_demo_if_empty(container.sessions, container.directory, container.clock(), profile=INSECURE_FAST)
        return container

    return build


@contextlib.asynccontextmanager
async def viber_app(
    settings: Settings, api: FakeViberApi, *, demo: bool = False, clock: Clock | None = None
) -> AsyncIterator[ViberHarness]:
    app = create_app(settings, container_factory=container_factory(demo=demo, clock=clock))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield ViberHarness(api=api, client=client, app=app, callbacks=CallbackFactory())
