"""What the Telegram channel needs from the settings, and the aiogram ``Bot`` built from it.

``bots`` must not import ``app``, so the functions here take any object with the
``telegram_*`` attributes of ``app.settings.Settings`` ("settings-like").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bots.setting_secrets import secret_text
from bots.telegram.retry import RetryAfterMiddleware

WEBHOOK_PATH = "/webhooks/telegram"
DEFAULT_API_BASE = "https://api.telegram.org"


class TelegramNotConfigured(RuntimeError):
    """A setting the requested Telegram operation needs is missing."""



@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_base: str = DEFAULT_API_BASE
    webhook_secret: str | None = None
    webhook_url: str | None = None  # the public URL Telegram posts updates to

    @classmethod
    def from_settings(cls, settings: Any) -> "TelegramConfig":
        token = secret_text(getattr(settings, "telegram_bot_token", None))
        if not token:
            raise TelegramNotConfigured("TELEGRAM_BOT_TOKEN is not set")
        return cls(
            token=token,
            api_base=getattr(settings, "telegram_api_base", None) or DEFAULT_API_BASE,
            webhook_secret=secret_text(getattr(settings, "telegram_webhook_secret", None)),
            webhook_url=getattr(settings, "telegram_webhook_url", None) or None,
        )

    def __repr__(self) -> str:  # never print the token or the secret
        return f"TelegramConfig(api_base={self.api_base!r}, webhook_url={self.webhook_url!r})"


def make_bot(config: TelegramConfig, *, max_retry_attempts: int = 3, max_retry_wait: float = 60.0) -> Bot:
    """An aiogram Bot talking to ``config.api_base`` (the public Bot API, a self-hosted
    Bot API server, or a test double), honouring 429 ``retry_after`` on every call."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_base))
    session.middleware(RetryAfterMiddleware(max_attempts=max_retry_attempts, max_wait=max_retry_wait))
    return Bot(token=config.token, session=session)
