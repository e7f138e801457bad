"""Conversations handed to a human: one durable queue per (city, department).

A conversation is queued at most once at a time (partial unique index
``uq_handoff_open_per_conversation``); agents take it with a compare-and-set, so
exactly one of them wins. While an agent holds a conversation the bot stays silent
(``holder`` tells the dialog engine who holds it).

States: waiting → assigned → closed; ``release`` puts an assigned conversation back
to waiting, ``withdraw`` closes a waiting one from the subscriber's side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference.directory import DEPARTMENTS
from dispatcher.clock import Clock, checked_account_number, fit, resolve_now, utc_now
from dispatcher.errors import UnknownDepartment
from dispatcher.models import Handoff

OPEN_STATUSES = ("waiting", "assigned")


@dataclass(frozen=True)
class HandoffTicket:
    id: int
    position: int  # 1-based among the waiting handoffs of (city, department); 0 once assigned
    already_waiting: bool  # the conversation was already queued (or held by an agent)
    status: str  # "waiting" | "assigned"
    assigned_to: str | None


@dataclass(frozen=True)
class HandoffRecord:
    """A queued or taken conversation, as the agent console shows it."""

    id: int
    conversation_key: str
    channel: str
    city: str | None
    department: str
    account_number: str | None
    reason: str
    status: str
    created_at: datetime
    assigned_to: str | None
    assigned_at: datetime | None

    @classmethod
    def of(cls, row: Handoff) -> "HandoffRecord":
        return cls(
            id=row.id,
            conversation_key=row.conversation_key,
            channel=row.channel,
            city=row.city,
            department=row.department,
            account_number=row.account_number,
            reason=row.reason,
            status=row.status,
            created_at=row.created_at,
            assigned_to=row.assigned_to,
            assigned_at=row.assigned_at,
        )


class HandoffQueue:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock = utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    # -- the bot's side ---------------------------------------------------------------

    async def enqueue(
        self,
        conversation_key: str,
        channel: str,
        *,
        city: str | None,
        department: str,
        account_number: str | None = None,
        reason: str,
        now: datetime | None = None,
    ) -> HandoffTicket:
        """Queue the conversation for agents, or report the handoff it already has."""
        now = resolve_now(now, self._clock)
        if department not in DEPARTMENTS:
            raise UnknownDepartment(department)
        account_number = checked_account_number(account_number)
        reason = fit(reason, 30)
        if reason is None:
            raise ValueError("a handoff needs a reason")
        for _ in range(5):
            try:
                async with self._sessions() as session, session.begin():
                    row = Handoff(
                        conversation_key=conversation_key,
                        channel=channel,
                        city=city,
                        department=department,
                        account_number=account_number,
                        reason=reason,
                        status="waiting",
                        created_at=now,
                    )
                    session.add(row)
                    await session.flush()
                    stored = HandoffRecord.of(row)
            except IntegrityError:
                existing = await self._open(conversation_key)
                if existing is not None:
                    return await self._ticket(existing, already_waiting=True)
                continue  # it was closed in between: try again
            return await self._ticket(stored, already_waiting=False)
        raise RuntimeError("could not queue the handoff: the open handoff kept changing")

    async def holder(self, conversation_key: str) -> str | None:
        """The agent holding the conversation; while there is one, the bot is silent."""
        record = await self._open(conversation_key)
        return record.assigned_to if record is not None and record.status == "assigned" else None

    async def is_open(self, conversation_key: str) -> bool:
        return await self._open(conversation_key) is not None

    async def current(self, conversation_key: str) -> HandoffRecord | None:
        """The conversation's open handoff (waiting or assigned), if any."""
        return await self._open(conversation_key)

    async def position(self, conversation_key: str) -> HandoffTicket | None:
        """Where the conversation's open handoff stands now (its place among the
        waiting ones of its queue; 0 once an agent took it); None when there is none."""
        record = await self._open(conversation_key)
        return None if record is None else await self._ticket(record, already_waiting=True)

    async def withdraw(self, conversation_key: str, *, now: datetime | None = None) -> bool:
        """The subscriber no longer waits for a human: close a still-waiting handoff.

        An assigned one is left alone — the agent closes it.
        """
        now = resolve_now(now, self._clock)
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Handoff)
                .where(Handoff.conversation_key == conversation_key, Handoff.status == "waiting")
                .values(status="closed", closed_at=now)
                .execution_options(synchronize_session=False)
            )
        return result.rowcount > 0

    # -- the agents' side ----------------------------------------------------------------

    async def claim(self, handoff_id: int, agent: str, *, now: datetime | None = None) -> bool:
        """Take a waiting conversation; exactly one of several agents gets True."""
        now = resolve_now(now, self._clock)
        async with self._sessions() as session, session.begin():
            return await self._transition(
                session,
                handoff_id,
                expect_status="waiting",
                values={"status": "assigned", "assigned_to": agent, "assigned_at": now},
            )

    async def claim_next(
        self, city: str | None, department: str, agent: str, *, now: datetime | None = None
    ) -> HandoffRecord | None:
        """Take the longest-waiting conversation of (city, department), if any.

        ``city=None`` is the queue of conversations whose city is not known.
        """
        now = resolve_now(now, self._clock)
        while True:
            async with self._sessions() as session, session.begin():
                candidate = await session.scalar(
                    select(Handoff.id)
                    .where(_queue(city, department), Handoff.status == "waiting")
                    .order_by(Handoff.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite relies on the CAS below
                )
                if candidate is None:
                    return None
                won = await self._transition(
                    session,
                    candidate,
                    expect_status="waiting",
                    values={"status": "assigned", "assigned_to": agent, "assigned_at": now},
                )
                if won:
                    row = await session.scalar(
                        select(Handoff).where(Handoff.id == candidate).execution_options(populate_existing=True)
                    )
                    return HandoffRecord.of(row)
            # Lost the race for this one: try the next.

    async def release(self, handoff_id: int, agent: str) -> bool:
        """The holding agent gives the conversation back to the queue (keeps its place)."""
        async with self._sessions() as session, session.begin():
            return await self._transition(
                session,
                handoff_id,
                expect_status="assigned",
                expect_agent=agent,
                values={"status": "waiting", "assigned_to": None, "assigned_at": None},
            )

    async def close(self, handoff_id: int, agent: str, *, now: datetime | None = None) -> bool:
        """The holding agent ends the handoff; the bot answers the conversation again."""
        now = resolve_now(now, self._clock)
        async with self._sessions() as session, session.begin():
            return await self._transition(
                session,
                handoff_id,
                expect_status="assigned",
                expect_agent=agent,
                values={"status": "closed", "closed_at": now},
            )

    async def waiting(self, city: str | None = None, department: str | None = None) -> list[HandoffRecord]:
        """Waiting conversations, longest-waiting first; filters are optional."""
        query = select(Handoff).where(Handoff.status == "waiting")
        if city is not None:
            query = query.where(Handoff.city == city)
        if department is not None:
            query = query.where(Handoff.department == department)
        async with self._sessions() as session:
            return [HandoffRecord.of(row) for row in await session.scalars(query.order_by(Handoff.id))]

    async def held_by(self, agent: str) -> list[HandoffRecord]:
        """Conversations the agent currently holds, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Handoff).where(Handoff.status == "assigned", Handoff.assigned_to == agent).order_by(Handoff.id)
            )
            return [HandoffRecord.of(row) for row in rows]

    # -- internals ----------------------------------------------------------------------

    async def _open(self, conversation_key: str) -> HandoffRecord | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(Handoff).where(Handoff.conversation_key == conversation_key, Handoff.status.in_(OPEN_STATUSES))
            )
            return HandoffRecord.of(row) if row is not None else None

    async def _ticket(self, record: HandoffRecord, *, already_waiting: bool) -> HandoffTicket:
        position = 0
        if record.status == "waiting":
            async with self._sessions() as session:
                ahead = await session.scalar(
                    select(func.count()).where(
                        _queue(record.city, record.department), Handoff.status == "waiting", Handoff.id < record.id
                    )
                )
            position = (ahead or 0) + 1
        return HandoffTicket(
            id=record.id,
            position=position,
            already_waiting=already_waiting,
            status=record.status,
            assigned_to=record.assigned_to,
        )

    @staticmethod
    async def _transition(
        session: AsyncSession,
        handoff_id: int,
        *,
        expect_status: str,
        values: dict,
        expect_agent: str | None = None,
    ) -> bool:
        conditions = [Handoff.id == handoff_id, Handoff.status == expect_status]
        if expect_agent is not None:
            conditions.append(Handoff.assigned_to == expect_agent)
        result = await session.execute(
            update(Handoff).where(*conditions).values(**values).execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def _queue(city: str | None, department: str):
    """The (city, department) queue; an unknown city is a queue of its own."""
    city_matches = Handoff.city.is_(None) if city is None else Handoff.city == city
    return and_(city_matches, Handoff.department == department)
