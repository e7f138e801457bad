"""Durable outbound: a message a messenger refused for a passing reason (5xx, 429,
timeout: ``DeliveryResult.retryable``) is retried from the database with a backoff,
and never sent twice.

    outbox = Outbox(sessions, delivery)          # delivery.send(conversation_key, replies)
    result = await outbox.deliver("telegram:42", replies, idempotency_key="agent:17:3")
    # → the first attempt's DeliveryResult; a retryable failure stays queued
    worker = OutboxWorker(outbox); worker.start()  # retries what is due

Why never twice:

* the idempotency key is unique: delivering the same logical message again (a retried
  HTTP call of an agent, a re-processed update) finds the row and does not send;
* a row is sent only by the worker that claimed it (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, a conditional UPDATE on SQLite), and it is marked ``sending`` before the
  messenger is called;
* a row found ``sending`` after its lease (the process died during the call) may or
  may not have reached the subscriber; it becomes ``unknown`` and is NOT sent again —
  the log names it for an agent. At most once in that window, which lasts one API call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.claims import claim_rows
from bots.durable_models import OutboxMessage
from dialogs.delivery import DeliveryResult
from dialogs.messages import Reply
from storage.clock import Clock, utc_now
from storage.inserts import insert_if_new
from storage.tasks import stop_task

log = logging.getLogger(__name__)

QUEUED_REASON = "Мессенджер временно недоступен: сообщение будет отправлено повторно автоматически."
GAVE_UP_REASON = "Мессенджер не принял сообщение после нескольких попыток."


class Deliverer(Protocol):
    """``dialogs.delivery.Delivery``: sends to a conversation key through its channel."""

    async def send(self, conversation_key: str, replies: Sequence[Reply]) -> DeliveryResult: ...


@dataclass(frozen=True)
class OutboxItem:
    id: int
    conversation_key: str
    replies: tuple[Reply, ...]
    attempts: int
    claim_token: str


class Outbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: Deliverer,
        *,
        max_attempts: int = 8,
        base_delay_seconds: float = 2.0,
        max_delay_seconds: float = 300.0,
        lease_seconds: float = 60.0,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self._max_attempts = max_attempts
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock

    # -- the sending side --------------------------------------------------------------------
    async def deliver(self, conversation_key: str, replies: Sequence[Reply], *, idempotency_key: str) -> DeliveryResult:
        """Record the message, then try it once now. A retryable refusal leaves it queued
        (the result says so); a key seen before sends nothing and answers from the row."""
        if not await self.enqueue(conversation_key, replies, idempotency_key=idempotency_key):
            return await self._result_of(idempotency_key)
        items = await self._claim(key=idempotency_key)
        if not items:  # a worker took it in between: it reports through the row
            return DeliveryResult.failed(QUEUED_REASON, retryable=True)
        return await self._attempt(items[0])

    async def enqueue(self, conversation_key: str, replies: Sequence[Reply], *, idempotency_key: str) -> bool:
        """Queue for the worker; False when the key was queued before."""
        now = self._clock()
        values = dict(
            idempotency_key=idempotency_key[:200],
            conversation_key=conversation_key[:200],
            replies=json.dumps([r.to_dict() for r in replies], ensure_ascii=False),
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        async with self._sessions() as session, session.begin():
            return await insert_if_new(session, OutboxMessage, values, ["idempotency_key"])

    async def retry_due(self, limit: int = 20) -> int:
        """One worker pass: give up on sends cut off by a crash, then attempt what is due."""
        if not await self._anything_to_do():
            return 0  # a read only: an idle poll takes no write lock (SQLite has one)
        await self._mark_cut_off_sends()
        items = await self._claim(limit=limit)
        for item in items:  # in order: a conversation's messages must not overtake each other
            await self._attempt(item)
        return len(items)

    async def counts(self) -> dict[str, int]:
        async with self._sessions() as session:
            rows = await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            return {status: count for status, count in rows.all()}

    # -- internals ------------------------------------------------------------------------------
    async def _claim(self, *, key: str | None = None, limit: int = 1) -> list[OutboxItem]:
        now = self._clock()
        row = OutboxMessage
        due = and_(row.status == "pending", row.next_attempt_at <= now)
        async with self._sessions() as session, session.begin():
            candidates = select(row.id).where(due).order_by(row.id).limit(limit)
            if key is not None:
                candidates = candidates.where(row.idempotency_key == key)
            token, rows = await claim_rows(session, row, candidates, due, status="sending", now=now)
            return [
                OutboxItem(r.id, r.conversation_key, tuple(Reply.from_dict(d) for d in json.loads(r.replies)), r.attempts, token)
                for r in rows
            ]

    async def _attempt(self, item: OutboxItem) -> DeliveryResult:
        try:
            result = await self._delivery.send(item.conversation_key, item.replies)
        except Exception as error:  # noqa: BLE001 - a sender should not raise; treat as passing
            log.exception("outbox: sending message %d raised", item.id)
            result = DeliveryResult.failed(QUEUED_REASON, retryable=True, detail=type(error).__name__)
        now = self._clock()
        if result.sent:
            await self._finish(item, status="sent", sent_at=now, provider_message_ids=json.dumps(list(result.provider_message_ids)))
            return result
        if result.retryable and item.attempts < self._max_attempts:
            delay = min(self._max_delay, self._base_delay * 2 ** (item.attempts - 1)) * random.uniform(0.8, 1.2)
            await self._finish(item, status="pending", next_attempt_at=now + timedelta(seconds=delay), last_error=_why(result))
            log.warning("outbox: message %d refused for now (%s); retry %d in %.0f s", item.id, _why(result), item.attempts, delay)
            return DeliveryResult.failed(QUEUED_REASON, retryable=True, detail=result.detail)
        await self._finish(item, status="failed", last_error=_why(result))
        log.error("outbox: message %d to %s not delivered (%s)", item.id, item.conversation_key, _why(result))
        return result if not result.retryable else DeliveryResult.failed(GAVE_UP_REASON, detail=result.detail)

    async def _finish(self, item: OutboxItem, **values) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == item.id, OutboxMessage.claim_token == item.claim_token)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def _anything_to_do(self) -> bool:
        now = self._clock()
        row = OutboxMessage
        work = select(row.id).where(
            or_(
                and_(row.status == "pending", row.next_attempt_at <= now),
                and_(row.status == "sending", row.claimed_at < now - self._lease),
            )
        ).limit(1)
        async with self._sessions() as session:
            return (await session.scalar(work)) is not None

    async def _mark_cut_off_sends(self) -> None:
        stale = self._clock() - self._lease
        async with self._sessions() as session, session.begin():
            cut_off = (
                await session.scalars(
                    update(OutboxMessage)
                    .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale)
                    .values(status="unknown", last_error="cut off by a crash during the send; not repeated")
                    .returning(OutboxMessage.id)
                )
            ).all()
        for message_id in cut_off:
            log.error("outbox: message %d may not have been delivered (the process died while sending); not repeated", message_id)

    async def _result_of(self, idempotency_key: str) -> DeliveryResult:
        async with self._sessions() as session:
            row = await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key))
        if row is not None and row.status == "sent":
            return DeliveryResult.ok(*json.loads(row.provider_message_ids or "[]"))
        if row is not None and row.status in ("pending", "sending"):
            return DeliveryResult.failed(QUEUED_REASON, retryable=True)
        return DeliveryResult.failed(GAVE_UP_REASON, detail=row.last_error if row else None)


def _why(result: DeliveryResult) -> str:
    return (result.detail or result.reason or "refused")[:300]


class OutboxWorker:
    """Retries due outbox messages every ``poll_seconds``."""

    def __init__(self, outbox: Outbox, *, poll_seconds: float = 1.0) -> None:
        self._outbox = outbox
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    async def close(self) -> None:
        await stop_task(self._task)

    async def _run(self) -> None:
        while True:
            try:
                while await self._outbox.retry_due() > 0:
                    pass
            except Exception:  # noqa: BLE001 - the database is away: next tick
                log.exception("outbox: retry pass failed")
            await asyncio.sleep(self._poll_seconds)
