"""Viber callbacks (REST bot API, "Callbacks") as typed objects, and their signature.

Viber signs every callback: ``X-Viber-Content-Signature`` is the hex HMAC-SHA256 of the
raw body keyed with the bot's auth token. Only the fields this adapter reads are
declared; anything else Viber adds is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SIGNATURE_HEADER = "X-Viber-Content-Signature"

EVENTS = (
    "webhook",
    "conversation_started",
    "message",
    "subscribed",
    "unsubscribed",
    "delivered",
    "seen",
    "failed",
)


def signature_of(body: bytes, auth_token: str) -> str:
    return hmac.new(auth_token.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header_value: str | None, auth_token: str) -> bool:
    if not header_value:
        return False
    expected = signature_of(body, auth_token)
    return hmac.compare_digest(expected.encode("ascii"), header_value.strip().lower().encode("utf-8", "replace"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


Token = int | str


class ViberUser(_Model):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = None
    language: str | None = None
    api_version: int | None = None


class Contact(_Model):
    name: str | None = None
    phone_number: str | None = None


class Message(_Model):
    type: str
    text: str | None = None
    contact: Contact | None = None
    tracking_data: str | None = None


class Callback(_Model):
    # Any string: an event kind Viber adds later is acknowledged and ignored.
    event: str = Field(min_length=1, max_length=100)
    timestamp: int | None = None
    message_token: Token | None = None
    # conversation_started, subscribed: the user; message: the sender; receipts and
    # unsubscribed: only the user's id.
    user: ViberUser | None = None
    sender: ViberUser | None = None
    user_id: str | None = None
    message: Message | None = None
    desc: str | None = None  # failed: why

    @property
    def token(self) -> str | None:
        return None if self.message_token is None else str(self.message_token)

    @property
    def who(self) -> str | None:
        """The Viber user id the callback is about."""
        person = self.sender or self.user
        return person.id if person else self.user_id

    @property
    def display_name(self) -> str | None:
        person = self.sender or self.user
        return person.name if person else None


class NotACallback(ValueError):
    pass


_NEEDS = {
    "conversation_started": ("user", "message_token"),
    "message": ("sender", "message", "message_token"),
    "subscribed": ("user",),
    "unsubscribed": ("user_id",),
    "delivered": ("user_id", "message_token"),
    "seen": ("user_id", "message_token"),
    "failed": ("user_id", "message_token"),
}


def parse_callback(raw: Any) -> Callback:
    """A callback from decoded JSON, or :class:`NotACallback` (the webhook answers 422)."""
    if not isinstance(raw, dict):
        raise NotACallback("not a JSON object")
    try:
        callback = Callback.model_validate(raw)
    except ValidationError as error:
        raise NotACallback(f"{error.error_count()} invalid field(s)") from None
    missing = [name for name in _NEEDS.get(callback.event, ()) if getattr(callback, name) is None]
    if missing:
        raise NotACallback(f"{callback.event} without {', '.join(missing)}")
    return callback
