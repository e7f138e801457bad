"""Support agents: accounts (argon2 hashes), console sessions, presence, visibility.

An agent sees and acts on the queues of their cities and departments only; a
supervisor sees everything. Sessions are rows keyed by a hash of a random token and
expire after ``session_idle`` without use. Presence is kept in SQL (every process
and the sweeper read it); an "online" agent whose console has not been heard from
for ``presence_timeout`` counts as offline.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.passwords import STANDARD, HashProfile, hash_password, needs_rehash, verify_password
from dispatcher.clock import Clock, resolve_now, utc_now
from dispatcher.errors import DispatcherError
from dispatcher.models import Agent, AgentSession
from reference.directory import DEPARTMENTS, Directory

ALL = "*"
PRESENCES = ("online", "away", "offline")
# Verified against when the login is unknown, so both answers take the same time.
_DUMMY_HASH = hash_password("not-a-real-password", STANDARD)
# A session's last use is written at most this often (not on every request).
_TOUCH_EVERY = timedelta(seconds=30)


class AgentExists(DispatcherError):
    pass


class UnknownAgent(DispatcherError, LookupError):
    pass


@dataclass(frozen=True)
class AgentProfile:
    id: int
    login: str
    name: str
    cities: tuple[str, ...] | None  # None: all cities
    departments: tuple[str, ...] | None  # None: all departments
    supervisor: bool
    disabled: bool
    presence: str
    seen_at: datetime | None

    def sees(self, city: str | None, department: str) -> bool:
        """May act on the (city, department) queue. A conversation whose city is
        unknown is seen by agents of all cities."""
        if self.supervisor:
            return True
        if self.departments is not None and department not in self.departments:
            return False
        if self.cities is None:
            return True
        return city is not None and city in self.cities

    def to_dict(self) -> dict:
        return {
            "login": self.login,
            "name": self.name,
            "cities": list(self.cities) if self.cities is not None else ["all"],
            "departments": list(self.departments) if self.departments is not None else ["all"],
            "supervisor": self.supervisor,
        }

    @classmethod
    def of(cls, row: Agent) -> "AgentProfile":
        return cls(
            id=row.id,
            login=row.login,
            name=row.name,
            cities=_split(row.cities),
            departments=_split(row.departments),
            supervisor=row.supervisor,
            disabled=row.disabled,
            presence=row.presence,
            seen_at=row.seen_at,
        )


@dataclass(frozen=True)
class ConsoleSession:
    token: str
    csrf_token: str
    agent: AgentProfile


def _split(value: str) -> tuple[str, ...] | None:
    if value.strip() == ALL:
        return None
    return tuple(part for part in (p.strip() for p in value.split(",")) if part)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Agents:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        directory: Directory,
        *,
        session_idle: timedelta,
        presence_timeout: timedelta,
        profile: HashProfile = STANDARD,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = sessions
        self._directory = directory
        self._session_idle = session_idle
        self._presence_timeout = presence_timeout
        self._profile = profile
        self._clock = clock

    # -- accounts (the CLI) -------------------------------------------------------------
    def normalize_scope(self, cities: str, departments: str) -> tuple[str, str]:
        """Validate "Уфа,Москва" | "all" and "subscriber,tech" | "all" against the reference data."""
        if cities.strip().lower() in ("all", ALL):
            city_value = ALL
        else:
            names = []
            for raw in cities.split(","):
                if not raw.strip():
                    continue
                place = self._directory.city(raw.strip())
                if place is None:
                    raise ValueError(f"unknown city: {raw.strip()!r}")
                names.append(place.name)
            if not names:
                raise ValueError("no cities given")
            city_value = ",".join(dict.fromkeys(names))
        if departments.strip().lower() in ("all", ALL):
            dep_value = ALL
        else:
            deps = [d.strip() for d in departments.split(",") if d.strip()]
            unknown = [d for d in deps if d not in DEPARTMENTS]
            if unknown or not deps:
                raise ValueError(f"departments must be among {DEPARTMENTS} or 'all', got {departments!r}")
            dep_value = ",".join(dict.fromkeys(deps))
        return city_value, dep_value

    async def add(
        self,
        login: str,
        password: str,
        *,
        cities: str,
        departments: str,
        supervisor: bool = False,
        name: str | None = None,
    ) -> AgentProfile:
        login = login.strip()
        if not login or len(login) > 100:
            raise ValueError("a login is 1 to 100 characters")
        if not password:
            raise ValueError("an empty password")
        city_value, dep_value = self.normalize_scope(cities, departments)
        row = Agent(
            login=login,
            name=(name or login)[:200],
            password_hash=hash_password(password, self._profile),
            cities=city_value,
            departments=dep_value,
            supervisor=supervisor,
            disabled=False,
            presence="offline",
            created_at=self._clock(),
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
                await session.flush()
                return AgentProfile.of(row)
        except IntegrityError as error:
            raise AgentExists(login) from error

    async def list(self) -> list[AgentProfile]:
        async with self._sessions() as session:
            return [AgentProfile.of(row) for row in await session.scalars(select(Agent).order_by(Agent.login))]

    async def count(self) -> int:
        return len(await self.list())

    async def get(self, login: str) -> AgentProfile | None:
        async with self._sessions() as session:
            row = await session.scalar(select(Agent).where(Agent.login == login))
            return AgentProfile.of(row) if row is not None else None

    async def disable(self, login: str) -> None:
        async with self._sessions.begin() as session:
            row = await session.scalar(select(Agent).where(Agent.login == login).with_for_update())
            if row is None:
                raise UnknownAgent(login)
            row.disabled = True
            row.presence = "offline"
            await session.execute(delete(AgentSession).where(AgentSession.agent_id == row.id))

    async def set_password(self, login: str, password: str) -> None:
        if not password:
            raise ValueError("an empty password")
        async with self._sessions.begin() as session:
            row = await session.scalar(select(Agent).where(Agent.login == login).with_for_update())
            if row is None:
                raise UnknownAgent(login)
            row.password_hash = hash_password(password, self._profile)
            # A new password ends every console session of the old one.
            await session.execute(delete(AgentSession).where(AgentSession.agent_id == row.id))

    # -- console sessions --------------------------------------------------------------
    async def login(self, login: str, password: str, *, now: datetime | None = None) -> ConsoleSession | None:
        """A new session, or None for a wrong password, an unknown or a disabled login
        (the caller cannot tell which)."""
        now = resolve_now(now, self._clock)
        async with self._sessions() as session:
            row = await session.scalar(select(Agent).where(Agent.login == login.strip()))
        if row is None or row.disabled:
            verify_password(_DUMMY_HASH, password)
            return None
        if not verify_password(row.password_hash, password):
            return None
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        async with self._sessions.begin() as session:
            session.add(
                AgentSession(token_hash=_token_hash(token), csrf_token=csrf, agent_id=row.id, created_at=now, last_used_at=now)
            )
            values: dict = {"presence": "online", "seen_at": now}
            if needs_rehash(row.password_hash, self._profile):
                values["password_hash"] = hash_password(password, self._profile)
            await session.execute(update(Agent).where(Agent.id == row.id).values(**values))
        profile = await self.get(row.login)
        assert profile is not None
        return ConsoleSession(token, csrf, profile)

    async def resolve(self, token: str, *, now: datetime | None = None) -> ConsoleSession | None:
        """The live session of ``token``; an idle one is deleted and None returned."""
        now = resolve_now(now, self._clock)
        digest = _token_hash(token)
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(AgentSession, Agent).join(Agent, Agent.id == AgentSession.agent_id).where(AgentSession.token_hash == digest)
                )
            ).first()
            if found is None:
                return None
            stored, agent = found
            last_used, session_id, csrf = stored.last_used_at, stored.id, stored.csrf_token
            profile = AgentProfile.of(agent)
        if profile.disabled or now - last_used > self._session_idle:
            await self._drop(session_id)
            return None
        if now - last_used > _TOUCH_EVERY:
            await self.touch(profile.id, session_id, now)
        return ConsoleSession(token, csrf, profile)

    async def touch(self, agent_id: int, session_id: int | None, now: datetime) -> None:
        async with self._sessions.begin() as session:
            if session_id is not None:
                await session.execute(update(AgentSession).where(AgentSession.id == session_id).values(last_used_at=now))
            await session.execute(update(Agent).where(Agent.id == agent_id).values(seen_at=now))

    async def logout(self, token: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(AgentSession).where(AgentSession.token_hash == _token_hash(token)))

    async def _drop(self, session_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(AgentSession).where(AgentSession.id == session_id))

    # -- presence -----------------------------------------------------------------------
    async def set_presence(self, agent_id: int, presence: str, *, now: datetime | None = None) -> None:
        if presence not in PRESENCES:
            raise ValueError(f"presence must be one of {PRESENCES}")
        now = resolve_now(now, self._clock)
        async with self._sessions.begin() as session:
            await session.execute(update(Agent).where(Agent.id == agent_id).values(presence=presence, seen_at=now))

    def effective_presence(self, profile: AgentProfile, now: datetime) -> str:
        """"online" only while the console is heard from; silence means offline."""
        if profile.disabled or profile.seen_at is None or now - profile.seen_at > self._presence_timeout:
            return "offline"
        return profile.presence

    async def online(self, *, now: datetime | None = None) -> list[AgentProfile]:
        now = resolve_now(now, self._clock)
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Agent).where(
                    Agent.disabled.is_(False), Agent.presence == "online", Agent.seen_at >= now - self._presence_timeout
                )
            )
            return [AgentProfile.of(row) for row in rows]

    async def online_for(self, city: str | None, department: str, *, now: datetime | None = None) -> list[AgentProfile]:
        """Online agents of the queue (supervisors are not counted as working a queue)."""
        return [a for a in await self.online(now=now) if not a.supervisor and a.sees(city, department)]

    async def mark_assigned(self, login: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Agent).where(Agent.login == login).values(last_assigned_at=now))

    async def round_robin_order(self) -> dict[str, datetime | None]:
        async with self._sessions() as session:
            return {login: at for login, at in (await session.execute(select(Agent.login, Agent.last_assigned_at))).all()}
