"""``POST /webhooks/telegram``: the webhook endpoint, mounted in the product's ASGI app.

Telegram signs nothing; it repeats the ``secret_token`` given to ``setWebhook`` in
the ``X-Telegram-Bot-Api-Secret-Token`` header. Wrong or missing → 403 before the
body is even read. Malformed JSON → 400, JSON that is not an Update → 422. Anything
else is recorded in the inbox and acknowledged with 200 (503 when it cannot be
recorded, so Telegram retries), then processed by the inbox worker.
"""

from __future__ import annotations

from typing import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bots.telegram.config import WEBHOOK_PATH
from bots.telegram.intake import UpdateIntake

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def make_webhook_router(intake_of: Callable[[Request], UpdateIntake | None]) -> APIRouter:
    """``intake_of`` finds the running channel's update intake for a request."""
    router = APIRouter()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        intake = intake_of(request)
        if intake is None:
            return JSONResponse({"ok": False, "reason": "telegram is not configured"}, status_code=404)
        if not intake.secret_matches(request.headers.get(SECRET_HEADER)):
            return JSONResponse({"ok": False, "reason": "forbidden"}, status_code=403)
        outcome = await intake.accept_webhook(await request.body())
        return JSONResponse({"ok": outcome.status == 200, "reason": outcome.reason}, status_code=outcome.status)

    return router
