"""Honest wait estimates: position ÷ agents online × the measured average handle time.

The average handle time of a queue is measured from the callbacks its agents closed
recently (claimed → closed) and the conversations they held (assigned → closed);
with too few samples the department's average over all cities is used, and without
that the configured default. The agents are those online now for that city and
department (the configured default when nobody is online: the subscriber is told
when the queue is normally worked, not "never"). Closed hours are skipped by the
callers (``schedule.add_working_time``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.agents import Agents
from dispatcher.models import CallbackRequest, Handoff
from dispatcher.schedule import add_working_time
from reference.directory import Directory

MIN_SAMPLES = 3
WINDOW = timedelta(days=7)
MAX_SAMPLES = 200
CACHE_SECONDS = 30.0


class WaitEstimator:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        agents: Agents,
        *,
        default_handle: timedelta,
        default_agents: int,
    ) -> None:
        self._sessions = sessions
        self._agents = agents
        self._default_handle = default_handle
        self._default_agents = default_agents
        self._cache: dict[tuple[str | None, str], tuple[float, timedelta]] = {}

    async def per_request(self, city: str | None, department: str, now: datetime) -> timedelta:
        handle = await self.average_handle(city, department, now)
        online = len(await self._agents.online_for(city, department, now=now)) or self._default_agents
        return handle / online

    async def wait(self, position: int, city: str | None, department: str, now: datetime) -> timedelta:
        """Working time until the subscriber at ``position`` (1-based) is served."""
        return max(0, position - 1) * await self.per_request(city, department, now)

    async def average_handle(self, city: str | None, department: str, now: datetime) -> timedelta:
        cached = self._cache.get((city, department))
        stamp = now.timestamp()
        if cached is not None and stamp - cached[0] < CACHE_SECONDS:
            return cached[1]
        samples = await self._samples(city, department, now)
        if len(samples) < MIN_SAMPLES and city is not None:
            samples = await self._samples(None, department, now)
        value = sum(samples, timedelta()) / len(samples) if len(samples) >= MIN_SAMPLES else self._default_handle
        self._cache[(city, department)] = (stamp, value)
        return value

    async def _samples(self, city: str | None, department: str, now: datetime) -> list[timedelta]:
        since = now - WINDOW
        callbacks = select(CallbackRequest.claimed_at, CallbackRequest.closed_at).where(
            CallbackRequest.department == department,
            CallbackRequest.status.in_(("done", "no_answer")),
            CallbackRequest.closed_at >= since,
            CallbackRequest.claimed_at.is_not(None),
        )
        handoffs = select(Handoff.assigned_at, Handoff.closed_at).where(
            Handoff.department == department,
            Handoff.status.in_(("closed", "released")),
            Handoff.closed_at >= since,
            Handoff.assigned_at.is_not(None),
        )
        if city is not None:
            callbacks = callbacks.where(CallbackRequest.city == city)
            handoffs = handoffs.where(Handoff.city == city)
        async with self._sessions() as session:
            rows = list(await session.execute(callbacks.order_by(CallbackRequest.closed_at.desc()).limit(MAX_SAMPLES)))
            rows += list(await session.execute(handoffs.order_by(Handoff.closed_at.desc()).limit(MAX_SAMPLES)))
        return [closed - started for started, closed in rows if closed is not None and started is not None and closed >= started]


class HandoffWait:
    """When a subscriber queued for an operator is expected to be answered: the
    estimator's wait for their place, counted in the department's working hours in
    the city's time zone (outside the hours it starts at the next opening). None for a
    conversation whose city is unknown: there is no time zone to count hours in."""

    def __init__(self, estimator: WaitEstimator, directory: Directory) -> None:
        self._estimator = estimator
        self._directory = directory

    async def expected_at(self, city: str | None, department: str, position: int, now: datetime) -> datetime | None:
        place = self._directory.city(city)
        dep = self._directory.departments.get(department)
        if place is None or dep is None:
            return None
        work = await self._estimator.wait(position, place.name, department, now)
        return add_working_time(dep.hours, place.tz, now, work)
