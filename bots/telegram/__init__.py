"""Telegram channel adapter (aiogram 3): webhook or long polling into the dialog engine.

Public API (for ``app``):

* ``start_channel(settings, container) -> TelegramChannel`` — at app startup: builds the
  channel, registers its sender in ``container.delivery``, closes with the container.
* ``build_channel(settings, container) -> TelegramChannel`` — bot, dispatcher, sender;
  ``channel.sender`` is the ``ChannelSender`` to register in ``container.delivery``;
  ``await channel.startup()`` / ``await channel.close()`` around the app's life.
* ``make_webhook_router(channel_of=...)`` — FastAPI router with ``POST /webhooks/telegram``
  (finds the channel at ``app.state.telegram`` by default).
* ``set_webhook(settings)``, ``delete_webhook(settings)``, ``run_polling(settings, container)``
  — for ``isp-support telegram set-webhook`` / ``poll``.
"""

from bots.telegram.channel import TelegramChannel, build_channel, start_channel
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
    "delete_webhook",
    "make_webhook_router",
    "run_polling",
    "set_webhook",
    "start_channel",
]
