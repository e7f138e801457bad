"""Honour Telegram's flood control (HTTP 429 with ``retry_after``) on every Bot API call.

A request middleware on the aiogram session, so bot replies, callback answers,
message deletions and agent messages sent through ``TelegramSender`` all wait the
time Telegram asks for and try again, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, *, max_attempts: int = 3, max_wait: float = 60.0) -> None:
        # max_attempts: total tries of one call; max_wait: a longer retry_after is
        # not waited for (the error goes to the caller) so a worker is not parked.
        self.max_attempts = max(1, max_attempts)
        self.max_wait = max_wait

    async def __call__(self, make_request: Any, bot: Any, method: Any) -> Any:
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt >= self.max_attempts or error.retry_after > self.max_wait:
                    log.warning(
                        "Telegram %s: flood control, giving up after %d attempt(s) (retry_after=%ss)",
                        method.__api_method__,
                        attempt,
                        error.retry_after,
                    )
                    raise
                log.info(
                    "Telegram %s: flood control, retrying in %ss (attempt %d of %d)",
                    method.__api_method__,
                    error.retry_after,
                    attempt + 1,
                    self.max_attempts,
                )
                await asyncio.sleep(error.retry_after)
                attempt += 1
