"""``POST /webhooks/telegram``: the webhook endpoint, mounted in the product's ASGI app.

Telegram signs nothing; it repeats the ``secret_token`` given to ``setWebhook`` in
the ``X-Telegram-Bot-Api-Secret-Token`` header. Wrong or missing → 403 before the
body is even read. Malformed JSON → 400, JSON that is not an Update → 422. Anything
else is acknowledged with 200 at once and processed in the background.
"""

from __future__ import annotations

from typing import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bots.telegram.channel import TelegramChannel
from bots.telegram.config import WEBHOOK_PATH

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def make_webhook_router(channel_of: Callable[[Request], TelegramChannel | None]) -> APIRouter:
    """``channel_of`` finds the running channel for a request."""
    router = APIRouter()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        channel = channel_of(request)
        if channel is None:
            return JSONResponse({"ok": False, "reason": "telegram is not configured"}, status_code=404)
        if not channel.secret_matches(request.headers.get(SECRET_HEADER)):
            return JSONResponse({"ok": False, "reason": "forbidden"}, status_code=403)
        outcome = await channel.accept_webhook(await request.body())
        return JSONResponse({"ok": outcome.status == 200, "reason": outcome.reason}, status_code=outcome.status)

    return router
