"""Durable intake: a webhook update is recorded in the database before it is
acknowledged, and workers process what is recorded — exactly once per update, across
crashes and restarts and several processes.

    inbox = Inbox(sessions)
    # the webhook, after the signature check and parsing:
    if await inbox.record("telegram", str(update_id), f"telegram:{chat_id}", body):
        worker.notify()                       # process soon; a duplicate is just acknowledged
    return 200
    # at start:
    worker = InboxWorker(inbox, "telegram", handle)   # handle(InboxItem) -> None
    worker.start(); ...; await worker.close()

* ``record`` inserts with ON CONFLICT DO NOTHING on the unique (channel, provider id):
  a messenger's retry of an update already recorded is one row.
* ``claim`` takes due rows: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (workers of many
  processes never take the same row and never wait on each other); on SQLite, which has
  one writer at a time, the same conditional UPDATE is atomic by itself. A row is
  claimed with a random token; only the holder of the token can finish it.
* A claimed row whose worker died (SIGKILL, power) is claimable again once its lease
  (``lease_seconds``) has passed: after a restart, unfinished updates are processed.
  If the dead worker had in fact finished the turn, the engine's de-duplication by
  message id answers the second processing from its record (one effect).
* Updates of one conversation are claimed one at a time, in arrival order (a password
  must not overtake the account number sent just before it).
* A handler error is retried with a backoff up to ``max_attempts``, then the row is
  ``failed`` (kept, with the error type, for an operator).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Awaitable, Callable

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bots.claims import claim_rows
from bots.durable_models import InboxUpdate
from storage.clock import Clock, utc_now
from storage.inserts import insert_if_new
from storage.tasks import stop_task, wait_or_timeout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboxItem:
    id: int
    channel: str
    provider_id: str
    conversation_key: str
    payload: str
    attempts: int
    claim_token: str


class Inbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        retry_seconds: float = 2.0,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = sessions
        self._lease = timedelta(seconds=lease_seconds)
        self._max_attempts = max_attempts
        self._retry_seconds = retry_seconds
        self._clock = clock

    async def record(self, channel: str, provider_id: str, conversation_key: str, payload: str) -> bool:
        """Record an update durably (committed when this returns). False: it was
        recorded before (a retry of the messenger)."""
        now = self._clock()
        values = dict(
            channel=channel,
            provider_id=provider_id[:100],
            conversation_key=conversation_key[:200],
            payload=payload,
            status="pending",
            attempts=0,
            received_at=now,
            available_at=now,
        )
        async with self._sessions() as session, session.begin():
            return await insert_if_new(session, InboxUpdate, values, ["channel", "provider_id"])

    async def claim(self, channel: str, limit: int = 20) -> list[InboxItem]:
        """Take up to ``limit`` due updates of ``channel`` (pending, or claimed by a worker
        whose lease ran out), at most one per conversation, oldest first."""
        now = self._clock()
        stale = now - self._lease
        row = InboxUpdate
        earlier = aliased(InboxUpdate)
        claimable = or_(row.status == "pending", and_(row.status == "processing", row.claimed_at < stale))
        # Not while an earlier update of the same conversation is unfinished.
        blocked = exists().where(
            earlier.channel == row.channel,
            earlier.conversation_key == row.conversation_key,
            earlier.id < row.id,
            earlier.status.in_(("pending", "processing")),
        )
        async with self._sessions() as session:
            # A read first: an idle poll takes no write lock (SQLite has one writer).
            if await session.scalar(select(row.id).where(row.channel == channel, claimable, row.available_at <= now).limit(1)) is None:
                return []
        async with self._sessions() as session, session.begin():
            candidates = (
                select(row.id)
                .where(row.channel == channel, claimable, row.available_at <= now, ~blocked)
                .order_by(row.id)
                .limit(limit)
            )
            token, rows = await claim_rows(session, row, candidates, claimable, status="processing", now=now)
            return [
                InboxItem(r.id, r.channel, r.provider_id, r.conversation_key, r.payload, r.attempts, token)
                for r in rows
            ]

    async def done(self, item: InboxItem) -> bool:
        """Mark a claimed update processed. False: the claim was lost (lease passed and
        another worker took it)."""
        # The payload goes: it may carry a password, and a finished update is never read again.
        return await self._finish(item, status="done", finished_at=self._clock(), payload="")

    async def failed(self, item: InboxItem, error: BaseException) -> None:
        """The handler failed: retry later with a backoff, or give up after ``max_attempts``."""
        reason = f"{type(error).__name__}"[:300]
        if item.attempts >= self._max_attempts:
            log.error("inbox: %s update %s failed %d times (%s); given up", item.channel, item.provider_id, item.attempts, reason)
            await self._finish(item, status="failed", finished_at=self._clock(), last_error=reason)
            return
        delay = self._retry_seconds * 2 ** (item.attempts - 1)
        await self._finish(
            item, status="pending", available_at=self._clock() + timedelta(seconds=delay), last_error=reason
        )

    async def counts(self, channel: str | None = None) -> dict[str, int]:
        """Rows per status (for health and the fault suite)."""
        from sqlalchemy import func

        query = select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status)
        if channel:
            query = query.where(InboxUpdate.channel == channel)
        async with self._sessions() as session:
            return {status: count for status, count in (await session.execute(query)).all()}

    async def _finish(self, item: InboxItem, **values) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.id == item.id, InboxUpdate.claim_token == item.claim_token, InboxUpdate.status == "processing")
                .values(claim_token=None if values.get("status") != "done" else item.claim_token, **values)
                .execution_options(synchronize_session=False)
            )
        return result.rowcount == 1


Handler = Callable[[InboxItem], Awaitable[None]]


class InboxWorker:
    """Claims and processes a channel's recorded updates: at once when ``notify``-ed (the
    webhook just recorded one), and every ``poll_seconds`` (updates recorded by another
    process that died, retries that became due)."""

    def __init__(
        self,
        inbox: Inbox,
        channel: str,
        handler: Handler,
        *,
        poll_seconds: float = 1.0,
        batch: int = 20,
    ) -> None:
        self._inbox = inbox
        self._channel = channel
        self._handler = handler
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"inbox-{self._channel}")

    def notify(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        await stop_task(self._task)

    async def run_once(self) -> int:
        """Claim and process one batch (different conversations at once); the count."""
        items = await self._inbox.claim(self._channel, self._batch)
        await asyncio.gather(*(self._process(item) for item in items))
        return len(items)

    async def drain(self) -> None:
        while await self.run_once():
            pass

    async def _process(self, item: InboxItem) -> None:
        try:
            await self._handler(item)
        except Exception as error:  # noqa: BLE001 - one bad update never stops the others
            log.exception("inbox: %s update %s failed", item.channel, item.provider_id)
            await self._inbox.failed(item, error)
            return
        if not await self._inbox.done(item):
            log.warning("inbox: %s update %s finished after its lease ran out", item.channel, item.provider_id)

    async def _run(self) -> None:
        while True:
            await wait_or_timeout(self._wake, self._poll_seconds)
            self._wake.clear()
            try:
                while await self.run_once() > 0:
                    pass  # more may be waiting: the next update of a conversation just finished
            except Exception:  # noqa: BLE001 - the database is away: try again on the next tick
                log.exception("inbox: claiming %s updates failed", self._channel)
