"""Conversations handed to a human: one durable queue per (city, department).

A conversation is queued at most once at a time (partial unique index
``uq_handoff_open_per_conversation``); agents take it with a compare-and-set, so
exactly one of them wins. While an agent holds a conversation the bot stays silent
(``holder`` tells the dialog engine who holds it).

States: waiting → assigned → closed | released; ``release`` puts an assigned
conversation back to waiting, ``release_to_bot`` ends an agent's hold ("released":
the bot answers again), ``withdraw`` closes a waiting one from the subscriber's side.

With ``events`` (the console's live events) a queued or withdrawn conversation is
announced to the agents' consoles and marked in the StateStore, so its transcript
lines reach them live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference.directory import DEPARTMENTS
from dispatcher.clock import Clock, checked_account_number, fit, resolve_now, utc_now
from dispatcher.errors import UnknownDepartment
from dispatcher.handoff_marks import HandoffMarks
from dispatcher.models import Handoff
from storage.engine import engine_of

if TYPE_CHECKING:
    from dialogs.state.base import StateStore
    from dispatcher.live import ConsoleEvents

OPEN_STATUSES = ("waiting", "assigned")

# The dialog engine asks this for every new conversation: built once, run through Core.
_OPEN_BY_CONVERSATION = select(Handoff.__table__).where(
    Handoff.__table__.c.conversation_key == bindparam("conversation_key"),
    Handoff.__table__.c.status.in_(OPEN_STATUSES),
)


@dataclass(frozen=True)
class HandoffTicket:
    id: int
    position: int  # 1-based among the waiting handoffs of (city, department); 0 once assigned
    already_waiting: bool  # the conversation was already queued (or held by an agent)
    status: str  # "waiting" | "assigned"
    assigned_to: str | None
    # When an agent is expected to answer (UTC), counted in the department's working
    # hours; None once assigned, or when the queue has no wait estimate.
    expected_at: datetime | None = None


class QueueWait(Protocol):
    """When the subscriber at ``position`` of a (city, department) queue is expected to
    be answered (``dispatcher.estimate.HandoffWait``); None when it cannot be told."""

    async def expected_at(self, city: str | None, department: str, position: int, now: datetime) -> datetime | None: ...


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
    def of(cls, row: Handoff | Row) -> "HandoffRecord":
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
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock = utc_now,
        events: "ConsoleEvents | None" = None,
        wait: QueueWait | None = None,
        store: "StateStore | None" = None,
    ) -> None:
        self._sessions = sessions
        self._wait = wait
        self._engine = engine_of(sessions)
        self._clock = clock
        self.events = events
        # With a StateStore, every queued conversation is marked there, so the dialog
        # engine can tell a never-queued conversation without a database read.
        self.marks = HandoffMarks(store, self.open_conversation_keys) if store is not None else None

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
        if self.marks is not None:
            await self.marks.mark(conversation_key)  # before the row exists: see HandoffMarks
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
                    return await self._ticket(existing, already_waiting=True, now=now)
                continue  # it was closed in between: try again
            if self.events is not None:
                await self.events.mark_open(conversation_key, stored.id, stored.city, stored.department)
                await self.events.queue_changed(stored.city, stored.department)
            return await self._ticket(stored, already_waiting=False, now=now)
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

    async def standing(self, conversation_key: str, *, now: datetime | None = None) -> HandoffTicket | None:
        """Where the conversation's open handoff stands now (its place among the
        waiting ones of its queue, 0 once an agent took it, and the expected answer
        time); None when there is none."""
        record = await self._open(conversation_key)
        if record is None:
            return None
        return await self._ticket(record, already_waiting=True, now=resolve_now(now, self._clock))

    async def withdraw(self, conversation_key: str, *, now: datetime | None = None) -> bool:
        """The subscriber no longer waits for a human: close a still-waiting handoff.

        An assigned one is left alone — the agent closes it.
        """
        now = resolve_now(now, self._clock)
        waiting = await self._open(conversation_key) if self.events is not None else None
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Handoff)
                .where(Handoff.conversation_key == conversation_key, Handoff.status == "waiting")
                .values(status="closed", closed_at=now)
                .execution_options(synchronize_session=False)
            )
        if result.rowcount > 0 and self.events is not None:
            await self.events.mark_closed(conversation_key)
            if waiting is not None:
                await self.events.queue_changed(waiting.city, waiting.department)
        return result.rowcount > 0

    # -- the agents' side ----------------------------------------------------------------

    async def claim(self, handoff_id: int, agent: str, *, now: datetime | None = None) -> bool:
        """Take a waiting conversation; exactly one of several agents gets True."""
        now = resolve_now(now, self._clock)
        return await self._change(handoff_id, expect_status="waiting", values=_assigned(agent, now))

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
                    values=_assigned(agent, now),
                )
                if won:
                    row = await session.scalar(
                        select(Handoff).where(Handoff.id == candidate).execution_options(populate_existing=True)
                    )
                    return HandoffRecord.of(row)
            # Lost the race for this one: try the next.

    async def release(self, handoff_id: int, agent: str) -> bool:
        """The holding agent gives the conversation back to the queue (keeps its place)."""
        return await self._change(
            handoff_id, expect_status="assigned", expect_agent=agent,
            values={"status": "waiting", "assigned_to": None, "assigned_at": None},
        )

    async def close(self, handoff_id: int, agent: str, *, now: datetime | None = None) -> bool:
        """The holding agent ends the handoff; the bot answers the conversation again."""
        now = resolve_now(now, self._clock)
        return await self._change(
            handoff_id, expect_status="assigned", expect_agent=agent,
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

    async def get(self, handoff_id: int) -> HandoffRecord | None:
        async with self._sessions() as session:
            row = await session.get(Handoff, handoff_id)
            return HandoffRecord.of(row) if row is not None else None

    async def release_to_bot(self, handoff_id: int, agent: str, *, now: datetime | None = None) -> bool:
        """The holding agent ends the hold: the conversation goes back to the bot."""
        now = resolve_now(now, self._clock)
        return await self._change(
            handoff_id, expect_status="assigned", expect_agent=agent,
            values={"status": "released", "closed_at": now},
        )

    async def requeue(self, handoff_id: int, agent: str, activity_at: datetime | None) -> bool:
        """Back to the queue from a hold that went quiet, only if nothing happened since
        the sweeper looked (same holder, same last activity)."""
        async with self._sessions() as session, session.begin():
            conditions = [Handoff.id == handoff_id, Handoff.status == "assigned", Handoff.assigned_to == agent]
            conditions.append(
                Handoff.agent_activity_at.is_(None) if activity_at is None else Handoff.agent_activity_at == activity_at
            )
            result = await session.execute(
                update(Handoff).where(*conditions)
                .values(status="waiting", assigned_to=None, assigned_at=None, agent_activity_at=None)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    async def transfer(self, handoff_id: int, city: str | None, department: str, *, expect_agent: str | None) -> bool:
        """Move an open conversation to another queue; it waits there for its agents.
        ``expect_agent``: only if that agent holds it (None: only while it waits)."""
        if department not in DEPARTMENTS:
            raise UnknownDepartment(department)
        async with self._sessions() as session, session.begin():
            conditions = [Handoff.id == handoff_id]
            if expect_agent is None:
                conditions.append(Handoff.status == "waiting")
            else:
                conditions += [Handoff.status == "assigned", Handoff.assigned_to == expect_agent]
            result = await session.execute(
                update(Handoff).where(*conditions)
                .values(city=city, department=department, status="waiting", assigned_to=None, assigned_at=None,
                        agent_activity_at=None)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    async def touch(self, handoff_id: int, agent: str, now: datetime) -> bool:
        """The holder did something: the hold timeout restarts. False if not the holder."""
        return await self._change(
            handoff_id, expect_status="assigned", expect_agent=agent, values={"agent_activity_at": now}
        )

    async def set_preview(self, conversation_key: str, text: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Handoff)
                .where(Handoff.conversation_key == conversation_key, Handoff.status.in_(OPEN_STATUSES))
                .values(preview=fit(text, 200))
                .execution_options(synchronize_session=False)
            )

    async def holds(self) -> list[tuple[int, str, datetime | None, str | None, str, str]]:
        """Every current hold: (id, agent, last activity, city, department, conversation key)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Handoff.id, Handoff.assigned_to, Handoff.agent_activity_at, Handoff.city, Handoff.department,
                       Handoff.conversation_key).where(Handoff.status == "assigned")
            )
            return [tuple(row) for row in rows.all()]

    async def open_conversation_keys(self) -> list[str]:
        """Every conversation with an open handoff (waiting or assigned)."""
        async with self._engine.connect() as connection:
            result = await connection.execute(
                select(Handoff.conversation_key).where(Handoff.status.in_(OPEN_STATUSES)).distinct()
            )
            return [row[0] for row in result]

    async def place(self, record: HandoffRecord, *, now: datetime | None = None) -> HandoffTicket:
        """Its place in its queue and when it is expected to be answered (what a
        subscriber put back in the queue, or into another one, is told)."""
        return await self._ticket(record, already_waiting=True, now=now)

    # -- internals ----------------------------------------------------------------------

    async def _open(self, conversation_key: str) -> HandoffRecord | None:
        async with self._engine.connect() as connection:
            result = await connection.execute(_OPEN_BY_CONVERSATION, {"conversation_key": conversation_key})
            row = result.first()
        return HandoffRecord.of(row) if row is not None else None

    async def _ticket(
        self, record: HandoffRecord, *, already_waiting: bool, now: datetime | None = None
    ) -> HandoffTicket:
        position, expected_at = 0, None
        if record.status == "waiting":
            async with self._sessions() as session:
                ahead = await session.scalar(
                    select(func.count()).where(
                        _queue(record.city, record.department), Handoff.status == "waiting", Handoff.id < record.id
                    )
                )
            position = (ahead or 0) + 1
            if self._wait is not None:
                moment = resolve_now(now, self._clock)
                expected_at = await self._wait.expected_at(record.city, record.department, position, moment)
        return HandoffTicket(
            id=record.id,
            position=position,
            already_waiting=already_waiting,
            status=record.status,
            assigned_to=record.assigned_to,
            expected_at=expected_at,
        )

    async def _change(self, handoff_id: int, **transition) -> bool:
        """One :meth:`_transition` in a transaction of its own."""
        async with self._sessions() as session, session.begin():
            return await self._transition(session, handoff_id, **transition)

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


def _assigned(agent: str, now: datetime) -> dict:
    """The columns of a conversation an agent has just taken (one claim or the next)."""
    return {"status": "assigned", "assigned_to": agent, "assigned_at": now, "agent_activity_at": now}
