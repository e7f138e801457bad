"""``POST /webhooks/viber``: Viber's callbacks, mounted in the product's ASGI app.

Checked before anything else: ``X-Viber-Content-Signature`` must be the hex
HMAC-SHA256 of the raw body keyed with the auth token (403 otherwise). Malformed JSON
→ 400, JSON that is not a Viber callback → 422; everything else 200 (the body of a
``conversation_started`` answer is the welcome message).
"""

from __future__ import annotations

from typing import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bots.viber.callbacks import SIGNATURE_HEADER
from bots.viber.channel import ViberChannel
from bots.viber.config import WEBHOOK_PATH


def make_webhook_router(channel_of: Callable[[Request], ViberChannel | None]) -> APIRouter:
    router = APIRouter()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def viber_webhook(request: Request) -> JSONResponse:
        channel = channel_of(request)
        if channel is None:
            return JSONResponse({"status": "error", "reason": "viber is not configured"}, status_code=404)
        body = await request.body()
        if not channel.signature_matches(body, request.headers.get(SIGNATURE_HEADER)):
            return JSONResponse({"status": "error", "reason": "forbidden"}, status_code=403)
        outcome = await channel.accept(body)
        return JSONResponse(outcome.body, status_code=outcome.status)

    return router
