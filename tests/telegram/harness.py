"""Driving the product's ASGI app (real container, real dialog engine, optionally the
demo subscribers) with the Telegram channel pointed at a local Bot API double.

Tests post real Update JSON to ``POST /webhooks/telegram`` and read what aiogram sent
to the double.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, AsyncIterator, Callable

import httpx

from app.asgi import create_app
from app.container import Container, build_container
from app.settings import Settings
from billing.demo import load_demo_if_empty
from billing.passwords import INSECURE_FAST
from tests.doubles.telegram_bot_api import DEFAULT_TOKEN, ApiCall, FakeTelegramBotApi, TelegramUser, UpdateFactory

WEBHOOK_SECRET = "tg-webhook-secret_0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SUBSCRIBER_ID = 555_000_111  # a Telegram user id (= their private chat id)


def telegram_settings(database_url: str, api: FakeTelegramBotApi, tmp_path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        redis_url=None,
        secret_key="test-secret-key-0123456789abcdef-0123456789",
        secret_key_file=tmp_path / "secret",
        demo=False,  # the journeys load the demo subscribers with a fast password hash
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_api_base=api.base_url,
        telegram_webhook_secret=WEBHOOK_SECRET,
        telegram_webhook_url="https://support.example.ru",
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class TelegramHarness:
    api: FakeTelegramBotApi
    client: httpx.AsyncClient
    app: Any
    user: TelegramUser
    updates: UpdateFactory
    last_calls: list[ApiCall] = field(default_factory=list)  # what the latest deliver() caused

    @property
    def channel(self):
        return self.app.state.channels["telegram"]

    @property
    def container(self):
        return self.app.state.container

    async def post(self, update: dict | None = None, *, secret: str | None = WEBHOOK_SECRET, content: bytes | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        if content is None:
            return await self.client.post("/webhooks/telegram", json=update, headers=headers)
        return await self.client.post("/webhooks/telegram", content=content, headers=headers)

    async def deliver(self, update: dict) -> list[ApiCall]:
        """Post an update, wait until the channel processed it, and return the Bot API
        calls it caused (in order)."""
        start = len(self.api.calls)
        response = await self.post(update)
        assert response.status_code == 200, response.text
        await self.channel.drain()
        self.last_calls = [call for call in self.api.calls[start:] if call.method != "setMyCommands"]
        return self.last_calls

    async def deliver_texts(self, update: dict) -> list[str]:
        return texts_of(await self.deliver(update))

    async def say(self, text: str) -> list[str]:
        """The subscriber writes ``text``; the texts of the bot's messages."""
        return texts_of(await self.deliver(self.updates.text(text)))

    async def press(self, title_part: str, *, latest: bool = False) -> list[str]:
        """Press the newest inline button whose title contains ``title_part``;
        ``latest``: only among the buttons of the bot's latest answer."""
        data, message = self.find_button(title_part, latest=latest)
        return texts_of(await self.deliver(self.updates.callback(data, message=message)))

    def find_button(self, title_part: str, *, latest: bool = False) -> tuple[str, dict]:
        calls = self.last_calls if latest else self.api.calls
        for call in reversed([c for c in calls if c.method == "sendMessage"]):
            markup = call.params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if title_part.lower() in button["text"].lower():
                        message = {
                            "message_id": 10_001,
                            "from": self.api.bot_user,
                            "chat": self.user.private_chat(),
                            "date": 1_700_000_000,
                            "text": call.params["text"],
                        }
                        return button["callback_data"], message
        titles = [
            b["text"]
            for c in self.api.calls_to("sendMessage")
            for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        raise AssertionError(f"no button with {title_part!r}; buttons sent: {titles}")


def texts_of(calls: list[ApiCall]) -> list[str]:
    return [call.params["text"] for call in calls if call.method == "sendMessage"]


def joined(texts: list[str]) -> str:
    return "\n".join(texts)


async def container_with_demo_subscribers(settings: Settings, **container_options: Any) -> Container:
    """The real container plus billing/demo_subscribers.csv (1000001/demo1 …), hashed
    with a cheap argon2 profile: the product's hashing costs seconds per test."""
    container = await build_container(settings, **container_options)
    await load_demo_if_empty(container.sessions, container.directory, container.clock(), profile=INSECURE_FAST)
    return container


@contextlib.asynccontextmanager
async def telegram_app(
    settings: Settings,
    api: FakeTelegramBotApi,
    *,
    demo: bool = False,
    wrap_engine: Callable[[Any], Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[TelegramHarness]:
    """``wrap_engine``: put something around the real dialog engine (e.g. to record
    the Inbound messages it gets). ``clock``: the container's clock (office hours,
    queue waits and callback times depend on "now")."""
    make_container = container_with_demo_subscribers if demo else build_container
    container_options: dict[str, Any] = {} if clock is None else {"clock": clock}

    async def container_factory(settings: Settings) -> Container:
        container = await make_container(settings, **container_options)
        if wrap_engine is not None:
            container.engine = wrap_engine(container.engine)
        return container

    app = create_app(settings, container_factory=container_factory)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            user = TelegramUser(id=SUBSCRIBER_ID)
            harness = TelegramHarness(api=api, client=client, app=app, user=user, updates=UpdateFactory(user))
            await harness.channel.drain()  # the command menu published at startup
            yield harness
