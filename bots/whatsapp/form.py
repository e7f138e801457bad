"""Twilio's form-encoded webhooks, read into typed messages.

Only the fields we use are read; Twilio adds fields without notice, so the rest are
ignored. A missing or malformed field we need raises :class:`MalformedWebhook` (the
route answers 422), never an error of our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from bots.whatsapp.config import ADDRESS_PREFIX

# Twilio resource SIDs: two letters and 32 hex digits (SM…, MM… for messages).
MESSAGE_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
E164 = re.compile(r"\+[1-9]\d{6,14}")
MAX_TEXT = 4096  # WhatsApp's own limit on a message body


class MalformedWebhook(ValueError):
    """The request is not a Twilio webhook we can read (the route answers 422)."""


@dataclass(frozen=True)
class InboundMessage:
    """A subscriber's WhatsApp message."""

    message_sid: str
    sender: str  # E.164, "+79000000002"
    body: str = ""
    profile_name: str | None = None
    num_media: int = 0
    # The id and title of a pressed quick reply or a chosen list-picker item.
    button_payload: str | None = None
    button_text: str | None = None


@dataclass(frozen=True)
class StatusReport:
    """A status callback about a message we sent."""

    message_sid: str
    status: str  # queued, sent, delivered, read, undelivered, failed, …
    recipient: str | None
    error_code: str | None = None


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedWebhook(f"{name} is not a text field")
    return value


def _required(form: Mapping[str, Any], name: str) -> str:
    value = _text(form, name)
    if not value:
        raise MalformedWebhook(f"{name} is missing")
    return value


def _sid(form: Mapping[str, Any]) -> str:
    sid = _required(form, "MessageSid")
    if not MESSAGE_SID.fullmatch(sid):
        raise MalformedWebhook("MessageSid is not a Twilio SID")
    return sid


def _address(value: str | None, name: str) -> str:
    """``whatsapp:+79000000002`` → ``+79000000002``."""
    if not value or not value.startswith(ADDRESS_PREFIX):
        raise MalformedWebhook(f"{name} is not a WhatsApp address")
    phone = value[len(ADDRESS_PREFIX) :].strip()
    if not E164.fullmatch(phone):
        raise MalformedWebhook(f"{name} is not an E.164 number")
    return phone


def parse_inbound(form: Mapping[str, Any]) -> InboundMessage:
    num_media_text = _text(form, "NumMedia") or "0"
    if not num_media_text.isdigit():
        raise MalformedWebhook("NumMedia is not a number")
    return InboundMessage(
        message_sid=_sid(form),
        sender=_address(_text(form, "From"), "From"),
        body=(_text(form, "Body") or "")[:MAX_TEXT],
        profile_name=_text(form, "ProfileName") or None,
        num_media=int(num_media_text),
        # A list-picker choice comes as ListId / ListTitle (some accounts also send
        # ButtonPayload): both are answers to buttons we sent and resolve the same way.
        button_payload=_text(form, "ButtonPayload") or _text(form, "ListId") or None,
        button_text=_text(form, "ButtonText") or _text(form, "ListTitle") or None,
    )


def parse_status(form: Mapping[str, Any]) -> StatusReport:
    status = _required(form, "MessageStatus").strip().lower()
    if not status.isalpha() or len(status) > 20:
        raise MalformedWebhook("MessageStatus is not a status")
    recipient = _text(form, "To")
    return StatusReport(
        message_sid=_sid(form),
        status=status,
        recipient=_address(recipient, "To") if recipient else None,
        error_code=(_text(form, "ErrorCode") or "").strip() or None,
    )
