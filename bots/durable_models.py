"""Tables of the durable intake (``bots.inbox``) and outbox (``bots.outbox``), shared
by every channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage import Base, UtcDateTime


class InboxUpdate(Base):
    """One update a messenger delivered to a webhook, recorded before it is acknowledged."""

    __tablename__ = "inbox_updates"
    __table_args__ = (
        # A messenger's retry of the same update collapses into the row already there.
        UniqueConstraint("channel", "provider_id", name="uq_inbox_update"),
        Index("ix_inbox_updates_status_due", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(100))  # Telegram update_id, Viber message_token, ...
    # Updates of one conversation are processed one at a time, in arrival order.
    conversation_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # the body as received (already cleaned JSON text)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | processing | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    available_at: Mapped[datetime] = mapped_column(UtcDateTime)  # not claimed before (retry backoff)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


class OutboxMessage(Base):
    """One outbound message (bot replies or an agent's words) to deliver through a channel."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        Index("ix_outbox_messages_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    conversation_key: Mapped[str] = mapped_column(String(200))
    replies: Mapped[str] = mapped_column(Text)  # JSON list of Reply.to_dict()
    # pending | sending | sent | failed | unknown (a send cut off by a crash: not repeated)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    provider_message_ids: Mapped[str | None] = mapped_column(Text)  # JSON list
    last_error: Mapped[str | None] = mapped_column(String(300))
