"""The audit log: every agent action (take over, message, note, release, transfer,
callback outcome), readable by supervisors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock, fit, resolve_now, utc_now
from dispatcher.models import AuditEntry


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    agent: str
    action: str
    target: str
    detail: str | None

    def to_dict(self) -> dict:
        return {"at": self.at.isoformat(), "agent": self.agent, "action": self.action, "target": self.target, "detail": self.detail}


class AuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock = utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    async def record(self, agent: str, action: str, target: str, detail: str | None = None, *, now: datetime | None = None) -> None:
        at = resolve_now(now, self._clock)
        async with self._sessions.begin() as session:
            session.add(AuditEntry(at=at, agent=agent[:100], action=action[:40], target=target[:60], detail=fit(detail, 500)))

    async def latest(self, limit: int = 100) -> list[AuditRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
            return [AuditRecord(r.at, r.agent, r.action, r.target, r.detail) for r in rows]
