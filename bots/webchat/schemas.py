"""The web chat wire format (JSON over HTTP; see also the WebSocket frames in routes.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bots.text import clean_text
from dialogs.messages import Reply, TurnResult

MAX_TEXT_CHARS = 2000
MAX_PAYLOAD_CHARS = 200


class SessionCreated(BaseModel):
    session_id: str = Field(description="Identifies the conversation; part of the token.")
    token: str = Field(description="Send as `Authorization: Bearer <token>`; keep it like a password.")


class MessageIn(BaseModel):
    """Exactly one of `text` (typed by the subscriber) or `payload` (a button press)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS, description="What the subscriber typed.")
    payload: str | None = Field(
        default=None, min_length=1, max_length=MAX_PAYLOAD_CHARS, description="The `payload` of a pressed button."
    )
    client_message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Chosen by the client; a retry with the same id is answered once (same replies, one effect).",
    )

    @field_validator("text", "payload")
    @classmethod
    def _cleaned_and_not_blank(cls, value: str | None) -> str | None:
        # The adapter boundary: what builds the Inbound gets text a database and the
        # messengers accept (a NUL once stopped the transcript of every conversation).
        if value is None:
            return None
        value = clean_text(value)
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> "MessageIn":
        if (self.text is None) == (self.payload is None):
            raise ValueError("send exactly one of 'text' or 'payload'")
        return self


class ButtonOut(BaseModel):
    title: str
    payload: str


class ReplyOut(BaseModel):
    text: str
    buttons: list[ButtonOut] = Field(default_factory=list)
    ask_phone: bool = Field(default=False, description="Show a phone number input under this reply.")
    author: str | None = Field(default=None, description="The agent's name when an agent wrote it.")

    @classmethod
    def of(cls, reply: Reply) -> "ReplyOut":
        return cls.model_validate(reply.to_dict())


class MessagesOut(BaseModel):
    replies: list[ReplyOut]
    at: datetime = Field(
        default_factory=lambda: datetime.now(timezone.utc), description="When the server answered (UTC, ISO 8601)."
    )
    held_by_agent: bool = Field(
        default=False, description="An agent holds the conversation: no bot replies; the agent answers over the WebSocket."
    )
    inbound_was_secret: bool = Field(
        default=False, description="The message carried a password: the widget should not keep or show its text."
    )

    @classmethod
    def of(cls, result: TurnResult) -> "MessagesOut":
        replies = [] if result.held_by_agent else [ReplyOut.of(r) for r in result.replies]
        return cls(replies=replies, held_by_agent=result.held_by_agent, inbound_was_secret=result.inbound_was_secret)

    @staticmethod
    def json_of(result: TurnResult) -> bytes:
        """What ``MessagesOut.of(result).model_dump_json(exclude_none=True)`` says (the
        same fields, order and values: tests/webchat/test_webchat_schemas.py), written
        by orjson from the engine's result without building the models: 3 µs instead
        of ~22 for a reply with five buttons, on the hot path of every message."""
        replies = [] if result.held_by_agent else [_reply_fields(reply) for reply in result.replies]
        return orjson.dumps(
            {
                "replies": replies,
                "at": datetime.now(timezone.utc),
                "held_by_agent": result.held_by_agent,
                "inbound_was_secret": result.inbound_was_secret,
            },
            option=orjson.OPT_UTC_Z,  # "…Z", as pydantic writes a UTC time
        )


def _reply_fields(reply: Reply) -> dict:
    """``ReplyOut``'s fields of ``reply``: what ``ReplyOut.of`` validates, less the one
    field the web chat does not show (it has no contact to share)."""
    fields = reply.to_dict()
    del fields["offer_phone_login"]
    return fields


class TranscriptEntryLike(Protocol):
    direction: str  # "in" | "bot" | "agent"
    text: str
    created_at: datetime


_SPEAKERS = {"in": "user", "bot": "bot", "agent": "agent"}


class HistoryMessage(BaseModel):
    sender: Literal["user", "bot", "agent"] = Field(alias="from")
    text: str
    at: datetime

    model_config = ConfigDict(populate_by_name=True)

    @classmethod
    def of(cls, entry: TranscriptEntryLike) -> "HistoryMessage":
        # No author: the transcript keeps the agent's login, which subscribers need not see.
        return cls(sender=_SPEAKERS.get(entry.direction, "bot"), text=entry.text, at=entry.created_at)


class HistoryOut(BaseModel):
    messages: list[HistoryMessage]


class DeskStatusOut(BaseModel):
    agents_online: bool = Field(description="An agent of this conversation's queue (or any, before it is queued) is online.")
    can_rate: bool = Field(description="A conversation with an agent has ended and is not rated yet.")
    agent_name: str | None = Field(default=None, description="The agent who holds or last held the conversation.")


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stars: int = Field(ge=1, le=5, description="1 (bad) … 5 (excellent).")
    comment: str | None = Field(default=None, max_length=1000)

    @field_validator("comment")
    @classmethod
    def _cleaned(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = clean_text(value).strip()
        return value or None


class RatingOut(BaseModel):
    id: int
