"""``POST /webhooks/whatsapp`` and ``POST /webhooks/whatsapp/status``.

Both are checked the same way: a missing or wrong ``X-Twilio-Signature`` → 403; a body
that is not a form → 400; a form without the fields we need → 422. An inbound message
is answered with empty TwiML at once (replies go out through the REST API from the
background); a status callback once it is recorded.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from bots.whatsapp.channel import NotRecorded, WhatsAppChannel
from bots.whatsapp.config import STATUS_PATH, WEBHOOK_PATH
from bots.whatsapp.form import MalformedWebhook
from bots.whatsapp.signature import SIGNATURE_HEADER

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FORM_TYPE = "application/x-www-form-urlencoded"  # Twilio posts nothing else


def _error(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


async def signed_form(request: Request, channel: WhatsAppChannel):
    """The request's form fields, once the signature over them is checked."""
    if not request.headers.get(SIGNATURE_HEADER):
        raise _error(403, "forbidden", "Missing X-Twilio-Signature.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise _error(400, "bad_request", "Twilio webhooks are form-encoded.")
    try:
        # The stdlib parser: strict UTF-8, repeated fields kept (the signature covers them).
        form = FormData(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        raise _error(400, "bad_request", "The body is not a readable form.") from None
    if not channel.signature.valid(request.url.path, request.url.query, form, request.headers):
        raise _error(403, "forbidden", "Invalid X-Twilio-Signature.")
    return form


def make_webhook_router(channel_of: Callable[[Request], WhatsAppChannel | None]) -> APIRouter:
    """``channel_of`` finds the running channel for a request."""
    router = APIRouter()

    def running(request: Request) -> WhatsAppChannel:
        channel = channel_of(request)
        if channel is None:
            raise _error(404, "not_found", "WhatsApp is not configured.")
        return channel

    async def acknowledged(request: Request, handle: Callable[[WhatsAppChannel, Any], Awaitable[None]]) -> Response:
        """A signed form handed to ``handle``; Twilio's answer for the outcome."""
        channel = running(request)
        form = await signed_form(request, channel)
        try:
            await handle(channel, form)
        except MalformedWebhook as error:
            raise _error(422, "validation_error", str(error)) from None
        except NotRecorded:
            # Not acknowledged: Twilio retries a 5xx (and falls back to its fallback URL).
            raise _error(503, "unavailable", "The message could not be recorded; retry later.") from None
        return Response(EMPTY_TWIML, media_type="text/xml")

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def whatsapp_webhook(request: Request) -> Response:
        return await acknowledged(request, WhatsAppChannel.accept_message)

    @router.post(STATUS_PATH, include_in_schema=False)
    async def whatsapp_status(request: Request) -> Response:
        return await acknowledged(request, WhatsAppChannel.record_status)

    return router
