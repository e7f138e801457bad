"""Dispatcher tables: callback requests, handoffs to agents, the transcript.

Durable in SQL on purpose: nothing a subscriber was promised is lost if Redis or
the process dies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage import Base, UtcDateTime

OPEN_CALLBACK = "status IN ('queued', 'claimed')"
OPEN_HANDOFF = "status IN ('waiting', 'assigned')"


class CallbackRequest(Base):
    __tablename__ = "callback_requests"
    __table_args__ = (
        # One open request per phone and department.
        Index(
            "uq_callback_open_per_phone_department",
            "phone",
            "department",
            unique=True,
            sqlite_where=text(OPEN_CALLBACK),
            postgresql_where=text(OPEN_CALLBACK),
        ),
        # The queue: per (city, department), FIFO by when it becomes callable.
        Index("ix_callback_queue", "city", "department", "status", "scheduled_for", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60))
    department: Mapped[str] = mapped_column(String(20))  # "subscriber" | "tech"
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    account_number: Mapped[str | None] = mapped_column(String(20))
    conversation_key: Mapped[str | None] = mapped_column(String(200), index=True)
    preferred_time: Mapped[str | None] = mapped_column(String(100))
    topic: Mapped[str | None] = mapped_column(String(500))
    # queued → claimed → done | no_answer (→ queued again while attempts remain) | cancelled
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    scheduled_for: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome_note: Mapped[str | None] = mapped_column(String(500))


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        # A conversation is queued for agents at most once at a time.
        Index(
            "uq_handoff_open_per_conversation",
            "conversation_key",
            unique=True,
            sqlite_where=text(OPEN_HANDOFF),
            postgresql_where=text(OPEN_HANDOFF),
        ),
        Index("ix_handoff_queue", "city", "department", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(60))
    department: Mapped[str] = mapped_column(String(20))
    account_number: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(30))  # "asked" | "not_understood"
    status: Mapped[str] = mapped_column(String(12), default="waiting")  # waiting → assigned → closed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    assigned_to: Mapped[str | None] = mapped_column(String(100))
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The holding agent's last action (take over, message, note): a hold without any
    # for ``console_hold_timeout_minutes`` goes back to the queue.
    agent_activity_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The subscriber's last line, kept on the row so the queue lists previews
    # without reading the transcript of every waiting conversation.
    preview: Mapped[str | None] = mapped_column(String(200))


class TranscriptMessage(Base):
    """Every message of a conversation, both ways. Secrets are stored redacted."""

    __tablename__ = "transcript_messages"
    __table_args__ = (
        Index("ix_transcript_conversation", "conversation_key", "id"),
        Index("ix_transcript_turn", "turn_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_key: Mapped[str] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(10))  # "in" | "bot" | "agent"
    channel_message_id: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(100))  # agent name for "agent"
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The engine turn that wrote the line (a digest of the conversation and the channel
    # message id; None for agents' and system lines): a turn processed again after a
    # crash replaces its first attempt's lines instead of adding them twice.
    turn_key: Mapped[str | None] = mapped_column(String(32))


class DeliveryReceipt(Base):
    """The furthest status a messenger reported for one message we sent."""

    __tablename__ = "delivery_receipts"
    __table_args__ = (
        Index("uq_delivery_receipt_message", "channel", "provider_message_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # queued | sent | delivered | read | failed | undelivered
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(String(300))
    conversation_key: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Agent(Base):
    """A support agent of the console. ``cities`` / ``departments``: comma-separated
    names, or ``*`` for all."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    cities: Mapped[str] = mapped_column(Text)
    departments: Mapped[str] = mapped_column(String(100))
    supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    presence: Mapped[str] = mapped_column(String(10), default="offline")  # online | away | offline
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # last request or WebSocket ping
    last_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # round-robin order
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgentSession(Base):
    """A console login. Only a hash of the token is stored: a leaked table logs nobody in."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int] = mapped_column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """Every agent action, for supervisors."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    agent: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(60))  # "conversation:12", "callback:7"
    detail: Mapped[str | None] = mapped_column(String(500))


class HandoffNote(Base):
    """An agent's private note on a handed-off conversation; never sent to the subscriber."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_key: Mapped[str] = mapped_column(String(200), index=True)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
