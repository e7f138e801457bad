"""Delivery receipts: what a messenger later says about a message we sent (delivered,
read, failed and why), keyed by the provider's message id, so the agent console can show
it. Channels record them through the ``ReceiptLog`` protocol of ``bots.channel``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock, fit, resolve_now, utc_now
from dispatcher.models import DeliveryReceipt

# A later status never goes back to an earlier one (Twilio may post "sent" after "delivered").
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4, "undelivered": 4}


@dataclass(frozen=True)
class Receipt:
    channel: str
    provider_message_id: str
    status: str
    error_code: str | None
    error_message: str | None
    conversation_key: str | None
    updated_at: datetime


class Receipts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock = utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    async def record(
        self,
        channel: str,
        provider_message_id: str,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        conversation_key: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Keep the furthest status of a message (receipts may arrive out of order)."""
        at = resolve_now(now, self._clock)
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(DeliveryReceipt)
                .where(DeliveryReceipt.channel == channel, DeliveryReceipt.provider_message_id == provider_message_id)
                .with_for_update()
            )
            if row is None:
                session.add(
                    DeliveryReceipt(
                        channel=channel,
                        provider_message_id=fit(provider_message_id, 100),
                        status=fit(status, 20),
                        error_code=fit(error_code, 20),
                        error_message=fit(error_message, 300),
                        conversation_key=fit(conversation_key, 200),
                        updated_at=at,
                    )
                )
                return
            if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(row.status, 0):
                row.status = fit(status, 20)
                row.error_code = fit(error_code, 20) or row.error_code
                row.error_message = fit(error_message, 300) or row.error_message
                row.updated_at = at
            if conversation_key and not row.conversation_key:
                row.conversation_key = fit(conversation_key, 200)

    async def get(self, channel: str, provider_message_id: str) -> Receipt | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(DeliveryReceipt).where(
                    DeliveryReceipt.channel == channel, DeliveryReceipt.provider_message_id == provider_message_id
                )
            )
        if row is None:
            return None
        return Receipt(
            row.channel, row.provider_message_id, row.status, row.error_code, row.error_message,
            row.conversation_key, row.updated_at,
        )
