"""The two ways to run the Telegram channel, for ``isp-support telegram ...``.

* Webhook (``set_webhook``): Telegram posts updates to ``POST /webhooks/telegram`` of
  the running web app; ``TELEGRAM_WEBHOOK_URL`` is its public address and
  ``TELEGRAM_WEBHOOK_SECRET`` the token Telegram repeats in every request.
* Long polling (``run_polling``): for a provider without a public URL; this process
  asks the Bot API for updates itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bots.telegram.channel import build_channel
from bots.telegram.commands import set_bot_commands
from bots.telegram.config import WEBHOOK_PATH, TelegramConfig, TelegramNotConfigured, make_bot
from bots.telegram.errors import describe_error
from bots.telegram.intake import IntakeLimits, UpdateIntake
from storage.tasks import wait_or_timeout

log = logging.getLogger(__name__)

SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts as secret_token

# The update kinds the handlers read; Telegram does not send the others.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def webhook_endpoint(url: str) -> str:
    """``https://host`` → ``https://host/webhooks/telegram``; a URL with a path is kept."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return url.rstrip("/") + WEBHOOK_PATH
    return url


async def set_webhook(settings: Any, *, bot: Bot | None = None) -> str:
    """Register ``TELEGRAM_WEBHOOK_URL`` (with ``TELEGRAM_WEBHOOK_SECRET``) with Telegram
    and publish the command menu. Returns the URL registered.

    ``settings``: anything with the ``telegram_*`` attributes of ``app.settings.Settings``.
    Raises ``TelegramNotConfigured`` when the token, the URL or the secret is missing.
    """
    config = TelegramConfig.from_settings(settings)
    if not config.webhook_url:
        raise TelegramNotConfigured("TELEGRAM_WEBHOOK_URL is not set (the public https URL of this server)")
    if not config.webhook_secret:
        raise TelegramNotConfigured("TELEGRAM_WEBHOOK_SECRET is not set (the webhook rejects every request without it)")
    if not SECRET_TOKEN.fullmatch(config.webhook_secret):
        raise TelegramNotConfigured(
            "TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, '_' and '-' (1-256 characters), "
            "as Telegram requires"
        )
    url = webhook_endpoint(config.webhook_url)
    own_bot = bot is None
    bot = bot or make_bot(config)
    try:
        await bot.set_webhook(
            url=url,
            secret_token=config.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
        await set_bot_commands(bot)
    finally:
        if own_bot:
            await bot.session.close()
    log.info("Telegram webhook set to %s", url)
    return url


async def delete_webhook(settings: Any, *, bot: Bot | None = None) -> None:
    """Stop webhook delivery (e.g. before switching to polling). Pending updates are kept."""
    config = TelegramConfig.from_settings(settings)
    own_bot = bot is None
    bot = bot or make_bot(config)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    finally:
        if own_bot:
            await bot.session.close()


async def run_polling(
    settings: Any,
    container: Any,
    *,
    stop: asyncio.Event | None = None,
    polling_timeout: int = 25,
    concurrency: int = 16,
) -> None:
    """Long-poll the Bot API and answer through the dialog engine until ``stop`` is set
    (or SIGINT/SIGTERM when no ``stop`` is given).

    ``container``: anything with ``engine`` and ``store`` (``app.container.Container``);
    its ``delivery``, when present, gets the Telegram sender. Removes a webhook first:
    Telegram refuses getUpdates while one is set.
    """
    stop = stop or _stop_on_signals()
    channel = build_channel(settings, container, limits=IntakeLimits(concurrency=concurrency))
    delivery = getattr(container, "delivery", None)
    if delivery is not None:
        delivery.register(channel.sender)
    try:
        await channel.bot.delete_webhook(drop_pending_updates=False)
        await channel.startup()
        log.info("Telegram: long polling started")
        await _poll(channel.bot, channel.intake, stop, polling_timeout=polling_timeout, max_pending=concurrency * 4)
    finally:
        await channel.close()
        log.info("Telegram: long polling stopped")


async def _poll(
    bot: Bot, intake: UpdateIntake, stop: asyncio.Event, *, polling_timeout: int, max_pending: int
) -> None:
    offset: int | None = None
    delay = 1.0
    while not stop.is_set():
        await intake.wait_for_capacity(max_pending)  # back-pressure on a large backlog
        fetch = asyncio.ensure_future(
            bot.get_updates(
                offset=offset,
                timeout=polling_timeout,
                allowed_updates=ALLOWED_UPDATES,
                request_timeout=polling_timeout + 10,
            )
        )
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await fetch
            break
        try:
            updates = fetch.result()
        except Exception as error:  # noqa: BLE001 - network or API trouble: back off and retry
            log.warning("Telegram getUpdates failed (%s); retrying in %.0fs", describe_error(error), delay)
            await wait_or_timeout(stop, delay)
            delay = min(delay * 2, 30.0)
            continue
        delay = 1.0
        for update in updates:
            if intake.durable is not None:
                try:
                    await intake.record(update)
                except Exception as error:  # noqa: BLE001 - not recorded: ask for it again
                    log.warning("Telegram update %s not recorded (%s); fetched again", update.update_id, describe_error(error))
                    await wait_or_timeout(stop, 2.0)  # the database is away: a pause
                    break  # the offset stays: getUpdates returns it again
            else:
                intake.submit(update, claimed=False)
            offset = update.update_id + 1
    if offset is not None:
        # Confirm what was taken, so the next run does not get it again.
        with suppress(TelegramAPIError):
            await bot.get_updates(offset=offset, limit=1, timeout=0)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop
