"""SMS outbox: the durable record of every SMS, and the sender that only queues.

``OutboxSmsSender`` is the default when no SMS provider is configured: the message
waits in ``sms_outbox`` (``isp-support outbox`` shows it to the operator running
the demo). Texts may carry one-time codes: they are stored, never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.sms.models import SmsOutbox
from storage.clock import utc_now

log = logging.getLogger(__name__)

PENDING = "pending"
SENT = "sent"
FAILED = "failed"



def mask_phone(phone_e164: str) -> str:
    """``+79000000001`` → ``+7900***01``: enough to tell messages apart in a log."""
    if len(phone_e164) <= 7:
        return "***"
    return f"{phone_e164[:5]}***{phone_e164[-2:]}"


async def store_outbox_row(
    sessions: async_sessionmaker[AsyncSession], phone_e164: str, text: str, now: datetime
) -> int:
    async with sessions() as session, session.begin():
        row = SmsOutbox(phone=phone_e164, text=text, created_at=now, status=PENDING)
        session.add(row)
        await session.flush()
        return row.id


class OutboxSmsSender:
    """Stores the SMS as ``pending`` and does nothing else."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utc_now,
        log_text: bool = False,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        # Only for the demo (its subscribers are fictional): the text carries one-time
        # codes, so a real install never logs it; `isp-support outbox` shows it.
        self._log_text = log_text

    async def send(self, phone_e164: str, text: str) -> None:
        await store_outbox_row(self._sessions, phone_e164, text, self._clock())
        if self._log_text:
            log.info("SMS to %s queued in outbox (demo): %s", mask_phone(phone_e164), text)
        else:
            log.info("SMS to %s queued in outbox (isp-support outbox prints it)", mask_phone(phone_e164))


async def pending_outbox(sessions: async_sessionmaker[AsyncSession], limit: int = 50) -> list[SmsOutbox]:
    """The oldest ``limit`` SMS still waiting to be sent, oldest first."""
    async with sessions() as session:
        result = await session.scalars(
            select(SmsOutbox).where(SmsOutbox.status == PENDING).order_by(SmsOutbox.id).limit(limit)
        )
        return list(result.all())
