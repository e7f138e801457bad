"""Telegram channel adapter (aiogram 3): webhook or long polling into the dialog engine.

Public API (for ``app``):

* ``channel_from_settings(settings) -> TelegramChannel | None`` — the
  :class:`bots.channel.Channel` (its routes: ``POST /webhooks/telegram``), or None without
  a token.
* ``build_channel(settings, container) -> TelegramChannel`` — bound at once to a
  container's engine and store (long polling).
* ``set_webhook(settings)``, ``delete_webhook(settings)``, ``run_polling(settings, container)``
  — for ``isp-support telegram set-webhook`` / ``poll``.

Inside: ``channel`` composes ``intake`` (updates in: webhook parsing, de-duplication,
per-chat order, the bounded pool) and ``conversation`` (an event through the engine and
the replies out), which the aiogram ``handlers`` call; ``state`` owns the ``tg:`` keys.
"""

from bots.telegram.channel import TelegramChannel, build_channel, channel_from_settings
from bots.telegram.config import WEBHOOK_PATH, TelegramConfig, TelegramNotConfigured
from bots.telegram.runner import delete_webhook, run_polling, set_webhook
from bots.telegram.sender import TelegramSender
from bots.telegram.webhook import make_webhook_router

__all__ = [
    "WEBHOOK_PATH",
    "TelegramChannel",
    "TelegramConfig",
    "TelegramNotConfigured",
    "TelegramSender",
    "build_channel",
    "channel_from_settings",
    "delete_webhook",
    "make_webhook_router",
    "run_polling",
    "set_webhook",
]
