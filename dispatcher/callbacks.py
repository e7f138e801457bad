"""Callback requests: one durable FIFO queue per (city, department).

A subscriber's request is stored in SQL before they are told anything about it.
Outside the department's hours (in the city's local time) it is scheduled for the
next opening. Agents claim the next due request with a compare-and-set, so exactly
one agent gets each request even when many click at once.

Invariants kept by the database, not by read-then-write checks:
- one open ('queued' or 'claimed') request per phone and department — the partial
  unique index ``uq_callback_open_per_phone_department``;
- a request changes hands only from the state the caller saw — every transition is
  ``UPDATE ... WHERE status = <expected>`` and checks the row count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference.directory import City, Directory
from reference.hours import WeeklyHours
from dispatcher.clock import Clock, checked_account_number, fit, resolve_now, utc_now
from dispatcher.errors import NotFound, NotHeldByAgent, UnknownCity, UnknownDepartment
from dispatcher.models import CallbackRequest
from dispatcher.schedule import add_working_time, next_opening, require_utc

if TYPE_CHECKING:
    from dispatcher.live import ConsoleEvents

OPEN_STATUSES = ("queued", "claimed")
OUTCOMES = ("done", "no_answer", "cancelled")


@dataclass(frozen=True)
class CallbackTicket:
    """What the subscriber is told about their request."""

    id: int
    city: str
    department: str
    phone: str
    status: str  # "queued" | "claimed"
    # 1-based place among the queued requests of (city, department); 0 while an
    # agent is already calling.
    position: int
    expected_at: datetime  # UTC; an estimate that counts only working minutes
    scheduled: bool  # not callable yet: outside the department's hours (or a retry later)
    already_queued: bool  # the subscriber had an open request for this department
    scheduled_for: datetime  # UTC; when the request becomes callable


@dataclass(frozen=True)
class ClaimedCallback:
    """What the agent needs to make the call."""

    id: int
    city: str
    department: str
    phone: str
    account_number: str | None
    conversation_key: str | None
    preferred_time: str | None
    topic: str | None
    attempts: int  # unanswered calls so far
    created_at: datetime
    scheduled_for: datetime
    claimed_by: str
    claimed_at: datetime


@dataclass(frozen=True)
class Settled:
    """A recorded outcome: the request's new status and, for a retry, when."""

    id: int
    status: str
    next_attempt_at: datetime | None
    conversation_key: str | None
    city: str
    department: str
    attempts: int


class WorkEstimator(Protocol):
    """How much of a queue's working time one request ahead costs (see
    ``dispatcher.estimate.WaitEstimator``); None: use the configured defaults."""

    async def per_request(self, city: str, department: str, now: datetime) -> timedelta | None: ...


@dataclass(frozen=True)
class QueueStats:
    city: str
    department: str
    queued: int  # waiting, including requests scheduled for later
    due: int  # waiting and callable now
    in_progress: int  # claimed by an agent
    oldest_wait: timedelta | None  # how long the oldest due request has been callable


@dataclass(frozen=True)
class _Stored:
    """The columns a ticket is computed from, copied while the session is open
    (so it does not matter whether the caller's sessionmaker expires on commit)."""

    id: int
    city: str
    department: str
    phone: str
    status: str
    scheduled_for: datetime

    @classmethod
    def of(cls, row: CallbackRequest) -> "_Stored":
        return cls(row.id, row.city, row.department, row.phone, row.status, row.scheduled_for)


class CallbackQueue:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        directory: Directory,
        *,
        minutes_per_request: int,
        agents_per_queue: int,
        max_attempts: int,
        retry_minutes: int,
        clock: Clock = utc_now,
        estimator: WorkEstimator | None = None,
        events: "ConsoleEvents | None" = None,
    ) -> None:
        if minutes_per_request <= 0 or agents_per_queue <= 0 or max_attempts <= 0 or retry_minutes < 0:
            raise ValueError("callback queue settings must be positive")
        self._sessions = sessions
        self._directory = directory
        self._minutes_per_request = minutes_per_request
        self._agents_per_queue = agents_per_queue
        self._max_attempts = max_attempts
        self._retry = timedelta(minutes=retry_minutes)
        self._clock = clock
        self.estimator = estimator
        self.events = events  # the console's live events: a new or cancelled request shows at once

    # -- subscriber side ------------------------------------------------------------

    async def request(
        self,
        city: str,
        department: str,
        phone: str,
        *,
        account_number: str | None = None,
        conversation_key: str | None = None,
        preferred_time: str | None = None,
        topic: str | None = None,
        not_before: datetime | None = None,
        now: datetime | None = None,
    ) -> CallbackTicket:
        """Queue a callback, or return the open one this phone already has for the department.

        ``not_before`` (aware): the subscriber's preferred time; the request becomes
        callable at the department's first open moment from then on.
        """
        now = resolve_now(now, self._clock)
        place = self._city(city)
        hours = self._hours(department)
        phone = phone.strip()
        if not phone or len(phone) > 20:
            raise ValueError(f"bad phone: {phone!r}")
        account_number = checked_account_number(account_number)
        earliest = now if not_before is None else max(now, require_utc(not_before))
        scheduled_for = next_opening(hours, place.tz, earliest)

        # Insert and let the unique index decide; a lookup first would race.
        # The loop covers the rare case where the blocking request is closed
        # between our failed insert and the lookup.
        for _ in range(5):
            row = CallbackRequest(
                city=place.name,
                department=department,
                phone=phone,
                account_number=account_number,
                conversation_key=conversation_key,
                preferred_time=fit(preferred_time, 100),
                topic=fit(topic, 500),
                status="queued",
                attempts=0,
                created_at=now,
                scheduled_for=scheduled_for,
            )
            try:
                async with self._sessions() as session, session.begin():
                    session.add(row)
                    await session.flush()
                    stored = _Stored.of(row)
            except IntegrityError:
                existing = await self._open_for(phone, department)
                if existing is not None:
                    return await self._ticket(existing, now, already_queued=True)
                continue
            if self.events is not None:
                await self.events.queue_changed(stored.city, stored.department)
            return await self._ticket(stored, now, already_queued=False)
        raise RuntimeError("could not queue the callback: the open request kept changing")

    async def cancel(
        self,
        request_id: int | None = None,
        *,
        phone: str | None = None,
        department: str | None = None,
        conversation_key: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Cancel open requests chosen by id, by (phone, department) or by conversation.

        The subscriber's wish wins even while an agent is calling: the agent's
        ``record_outcome`` then fails with :class:`NotHeldByAgent`.
        """
        now = resolve_now(now, self._clock)
        given = [request_id is not None, phone is not None or department is not None, conversation_key is not None]
        if sum(given) != 1:
            raise ValueError("cancel by request_id, or by phone and department, or by conversation_key")
        if request_id is not None:
            which = CallbackRequest.id == request_id
        elif conversation_key is not None:
            which = CallbackRequest.conversation_key == conversation_key
        else:
            if phone is None or department is None:
                raise ValueError("cancel by phone needs the department too")
            which = and_(CallbackRequest.phone == phone.strip(), CallbackRequest.department == department)
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(CallbackRequest)
                .where(which, CallbackRequest.status.in_(OPEN_STATUSES))
                .values(status="cancelled", closed_at=now)
                .execution_options(synchronize_session=False)
            )
        if result.rowcount > 0 and self.events is not None:
            await self.events.anything_changed()  # which queue: not worth a read
        return result.rowcount > 0

    async def open_for_conversation(
        self, conversation_key: str, *, now: datetime | None = None
    ) -> list[CallbackTicket]:
        return await self._open_tickets(CallbackRequest.conversation_key == conversation_key, now)

    async def open_for_phone(self, phone: str, *, now: datetime | None = None) -> list[CallbackTicket]:
        return await self._open_tickets(CallbackRequest.phone == phone.strip(), now)

    # -- agent side -------------------------------------------------------------------

    async def claim_next(
        self, city: str, department: str, agent: str, *, now: datetime | None = None
    ) -> ClaimedCallback | None:
        """Take the oldest due request of the queue, or None when nothing is due."""
        now = resolve_now(now, self._clock)
        place = self._city(city)
        self._hours(department)
        return await self._claim_first(
            agent, [CallbackRequest.city == place.name, CallbackRequest.department == department], now
        )

    async def record_outcome(
        self,
        request_id: int,
        agent: str,
        outcome: str,
        note: str | None = None,
        *,
        now: datetime | None = None,
    ) -> str:
        """Close the call the agent holds; returns the request's new status.

        ``no_answer`` puts the request back in the queue ``retry_minutes`` later
        (within working hours) until ``max_attempts`` unanswered calls, then closes
        it as ``no_answer``.
        """
        return (await self.settle(request_id, agent, outcome, note, now=now)).status

    async def settle(
        self,
        request_id: int,
        agent: str,
        outcome: str,
        note: str | None = None,
        *,
        now: datetime | None = None,
    ) -> Settled:
        """:meth:`record_outcome` with the details the console shows (next attempt)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
        now = resolve_now(now, self._clock)
        async with self._sessions() as session, session.begin():
            row = await self._load(session, request_id)
            if row is None:
                raise NotFound(f"callback request #{request_id}")
            if row.status != "claimed" or row.claimed_by != agent:
                raise NotHeldByAgent(request_id, agent, row.status, row.claimed_by)
            values: dict = {"outcome_note": fit(note, 500)}
            if outcome == "no_answer":
                attempts = row.attempts + 1
                values["attempts"] = attempts
                if attempts < self._max_attempts:
                    hours = self._hours(row.department)
                    values.update(
                        status="queued",
                        scheduled_for=next_opening(hours, self._tz(row.city), now + self._retry),
                        claimed_by=None,
                        claimed_at=None,
                    )
                else:
                    values.update(status="no_answer", closed_at=now)
            else:
                values.update(status=outcome, closed_at=now)
            # Compare-and-set on what we read: a concurrent cancel by the subscriber wins.
            won = await self._transition(
                session,
                request_id,
                expect={"status": "claimed", "claimed_by": agent, "attempts": row.attempts},
                values=values,
            )
            if not won:
                current = await self._load(session, request_id)
                raise NotHeldByAgent(
                    request_id, agent, current.status if current else None, current.claimed_by if current else None
                )
            settled = Settled(
                id=request_id,
                status=values["status"],
                next_attempt_at=values.get("scheduled_for") if values["status"] == "queued" else None,
                conversation_key=row.conversation_key,
                city=row.city,
                department=row.department,
                attempts=values.get("attempts", row.attempts),
            )
        return settled

    async def claim_next_of(
        self,
        agent: str,
        *,
        cities: tuple[str, ...] | None,
        departments: tuple[str, ...] | None,
        now: datetime | None = None,
    ) -> ClaimedCallback | None:
        """The next due request of any of the agent's queues (None: all), by due time then age."""
        now = resolve_now(now, self._clock)
        scope = []
        if cities is not None:
            scope.append(CallbackRequest.city.in_(cities))
        if departments is not None:
            scope.append(CallbackRequest.department.in_(departments))
        return await self._claim_first(agent, scope, now)

    async def get(self, request_id: int) -> CallbackRequest | None:
        """The stored request (detached), for visibility checks."""
        async with self._sessions() as session:
            row = await session.get(CallbackRequest, request_id)
            if row is not None:
                session.expunge(row)
            return row

    async def release(self, request_id: int, agent: str) -> bool:
        """Give a claimed request back without calling; it keeps its place in the queue."""
        async with self._sessions() as session, session.begin():
            return await self._transition(
                session,
                request_id,
                expect={"status": "claimed", "claimed_by": agent},
                values={"status": "queued", "claimed_by": None, "claimed_at": None},
            )

    async def queue_stats(self, city: str, department: str, *, now: datetime | None = None) -> QueueStats:
        now = resolve_now(now, self._clock)
        place = self._city(city)
        self._hours(department)
        mine = and_(CallbackRequest.city == place.name, CallbackRequest.department == department)
        queued = CallbackRequest.status == "queued"
        due = and_(queued, CallbackRequest.scheduled_for <= now)
        async with self._sessions() as session:
            counts = (
                await session.execute(
                    select(
                        func.count().filter(queued),
                        func.count().filter(due),
                        func.count().filter(CallbackRequest.status == "claimed"),
                    ).where(mine, CallbackRequest.status.in_(OPEN_STATUSES))
                )
            ).one()
            # min() over the typed column would lose the UTC type on SQLite; take the row.
            oldest = await session.scalar(
                select(CallbackRequest.scheduled_for)
                .where(mine, due)
                .order_by(CallbackRequest.scheduled_for, CallbackRequest.id)
                .limit(1)
            )
        return QueueStats(
            city=place.name,
            department=department,
            queued=counts[0],
            due=counts[1],
            in_progress=counts[2],
            oldest_wait=(now - oldest) if oldest is not None else None,
        )

    # -- internals ----------------------------------------------------------------------

    async def _claim_first(self, agent: str, scope: list, now: datetime) -> ClaimedCallback | None:
        """Claim the earliest due queued request within ``scope`` (extra WHERE clauses)."""
        while True:
            async with self._sessions() as session, session.begin():
                # PostgreSQL: SKIP LOCKED lets concurrent agents pass each other's
                # candidate instead of queueing behind it. SQLite ignores the clause;
                # there the compare-and-set below alone decides.
                candidate = await session.scalar(
                    select(CallbackRequest.id)
                    .where(CallbackRequest.status == "queued", CallbackRequest.scheduled_for <= now, *scope)
                    .order_by(CallbackRequest.scheduled_for, CallbackRequest.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if candidate is None:
                    return None
                won = await self._transition(
                    session,
                    candidate,
                    expect={"status": "queued"},
                    values={"status": "claimed", "claimed_by": agent, "claimed_at": now},
                )
                if won:
                    return _claimed(await self._load(session, candidate))
            # Another agent took it first: try the next one.

    def _city(self, name: str) -> City:
        place = self._directory.city(name)
        if place is None:
            raise UnknownCity(name)
        return place

    def _hours(self, department: str) -> WeeklyHours:
        dep = self._directory.departments.get(department)
        if dep is None:
            raise UnknownDepartment(department)
        return dep.hours

    def _tz(self, city: str) -> ZoneInfo:
        # A stored request may name a city the provider later removed from the
        # reference data; its estimate then falls back to UTC rather than failing.
        place = self._directory.city(city)
        return place.tz if place is not None else ZoneInfo("UTC")

    @staticmethod
    async def _load(session: AsyncSession, request_id: int) -> CallbackRequest | None:
        return await session.scalar(
            select(CallbackRequest).where(CallbackRequest.id == request_id).execution_options(populate_existing=True)
        )

    @staticmethod
    async def _transition(session: AsyncSession, request_id: int, *, expect: dict, values: dict) -> bool:
        conditions = [getattr(CallbackRequest, column) == value for column, value in expect.items()]
        result = await session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == request_id, *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def _open_for(self, phone: str, department: str) -> _Stored | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(CallbackRequest).where(
                    CallbackRequest.phone == phone,
                    CallbackRequest.department == department,
                    CallbackRequest.status.in_(OPEN_STATUSES),
                )
            )
            return _Stored.of(row) if row is not None else None

    async def _open_tickets(self, which, now: datetime | None) -> list[CallbackTicket]:
        now = resolve_now(now, self._clock)
        async with self._sessions() as session:
            rows = [
                _Stored.of(row)
                for row in await session.scalars(
                    select(CallbackRequest)
                    .where(which, CallbackRequest.status.in_(OPEN_STATUSES))
                    .order_by(CallbackRequest.id)
                )
            ]
        return [await self._ticket(row, now, already_queued=False) for row in rows]

    async def _ticket(self, row: _Stored, now: datetime, *, already_queued: bool) -> CallbackTicket:
        scheduled_for = row.scheduled_for.astimezone(timezone.utc)
        if row.status == "claimed":
            position, expected_at = 0, now
        else:
            position = await self._position(row)
            per_request = await self.estimator.per_request(row.city, row.department, now) if self.estimator else None
            expected_at = self._estimate(row.city, row.department, scheduled_for, position, now, per_request)
        return CallbackTicket(
            id=row.id,
            city=row.city,
            department=row.department,
            phone=row.phone,
            status=row.status,
            position=position,
            expected_at=expected_at,
            scheduled=scheduled_for > now,
            already_queued=already_queued,
            scheduled_for=scheduled_for,
        )

    async def _position(self, row: _Stored) -> int:
        async with self._sessions() as session:
            ahead = await session.scalar(
                select(func.count()).where(
                    CallbackRequest.city == row.city,
                    CallbackRequest.department == row.department,
                    CallbackRequest.status == "queued",
                    or_(
                        CallbackRequest.scheduled_for < row.scheduled_for,
                        and_(CallbackRequest.scheduled_for == row.scheduled_for, CallbackRequest.id < row.id),
                    ),
                )
            )
        return (ahead or 0) + 1

    def _estimate(
        self, city: str, department: str, scheduled_for: datetime, position: int, now: datetime,
        per_request: timedelta | None = None,
    ) -> datetime:
        """Working time needed for the requests ahead, counted from the next opening.

        The agents of a queue work in parallel, so each request ahead costs the
        average handle time divided by the agents online (``per_request``, measured
        by the estimator), or ``minutes_per_request / agents_per_queue`` without
        one. A request is never called before it is scheduled.
        """
        hours = self._hours(department)
        if per_request is None:
            per_request = timedelta(minutes=self._minutes_per_request / self._agents_per_queue)
        work = (position - 1) * per_request
        expected = add_working_time(hours, self._tz(city), now, work)
        return max(expected, scheduled_for)


def _claimed(row: CallbackRequest) -> ClaimedCallback:
    assert row.claimed_by is not None and row.claimed_at is not None
    return ClaimedCallback(
        id=row.id,
        city=row.city,
        department=row.department,
        phone=row.phone,
        account_number=row.account_number,
        conversation_key=row.conversation_key,
        preferred_time=row.preferred_time,
        topic=row.topic,
        attempts=row.attempts,
        created_at=row.created_at,
        scheduled_for=row.scheduled_for,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
    )
