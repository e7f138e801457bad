"""SMS outbox: one-time codes and notices waiting to be (or already) sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage import Base, UtcDateTime


class SmsOutbox(Base):
    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | sent | failed
    provider_sid: Mapped[str | None] = mapped_column(String(64))  # Twilio message SID
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
