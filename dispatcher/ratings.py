"""Subscribers' ratings of finished conversations with agents, and what the web chat
asks the dispatcher (is an agent of my queue online? may I rate?).

A conversation here is one handoff: the subscriber rates the agent who held it once it
ended (the agent released it, or it was closed). One rating per handoff: the unique
``handoff_id`` makes a repeated or concurrent submission a conflict, never a second row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import Integer, String, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from dispatcher.agents import Agents
from storage import utc_now
from dispatcher.models import Handoff
from storage import Base, UtcDateTime

MIN_STARS, MAX_STARS = 1, 5
MAX_COMMENT_CHARS = 1000
OPEN_STATUSES = ("waiting", "assigned")


class ConversationRating(Base):
    __tablename__ = "conversation_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key on purpose: a rating is history and outlives a purge of old handoffs.
    handoff_id: Mapped[int] = mapped_column(Integer, unique=True)
    conversation_key: Mapped[str] = mapped_column(String(200), index=True)
    agent_login: Mapped[str | None] = mapped_column(String(100))
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class NothingToRate(LookupError):
    """No finished conversation with an agent, or it is rated already."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "no_conversation" | "already_rated"


@dataclass(frozen=True)
class DeskStatus:
    agents_online: bool
    can_rate: bool
    agent_name: str | None  # who holds (or last held) the conversation


class Ratings:
    """Storage of ratings plus the web chat's view of its conversation's queue."""

    def __init__(self, sessions: async_sessionmaker, agents: Agents, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._sessions = sessions
        self._agents = agents
        self._clock = clock

    async def _latest_handoff(self, conversation_key: str) -> Handoff | None:
        async with self._sessions() as session:
            query = select(Handoff).where(Handoff.conversation_key == conversation_key).order_by(Handoff.id.desc()).limit(1)
            return (await session.execute(query)).scalar_one_or_none()

    async def _rateable(self, handoff: Handoff | None) -> bool:
        if handoff is None or handoff.status in OPEN_STATUSES or handoff.assigned_to is None:
            return False  # still open, or no agent ever held it: nothing to rate
        async with self._sessions() as session:
            found = await session.execute(select(ConversationRating.id).where(ConversationRating.handoff_id == handoff.id))
            return found.first() is None

    async def status(self, conversation_key: str) -> DeskStatus:
        handoff = await self._latest_handoff(conversation_key)
        now = self._clock()
        if handoff is not None:
            online = bool(await self._agents.online_for(handoff.city, handoff.department, now=now))
        else:  # not queued yet: any agent who answers chats counts
            online = any(not agent.supervisor for agent in await self._agents.online(now=now))
        name = None
        if handoff is not None and handoff.assigned_to:
            profile = await self._agents.get(handoff.assigned_to)
            name = profile.name if profile else None
        return DeskStatus(agents_online=online, can_rate=await self._rateable(handoff), agent_name=name)

    async def rate(self, conversation_key: str, stars: int, comment: str | None) -> int:
        """Store the rating of the conversation's last finished handoff; its id."""
        if not MIN_STARS <= stars <= MAX_STARS:
            raise ValueError(f"stars must be {MIN_STARS}..{MAX_STARS}")
        handoff = await self._latest_handoff(conversation_key)
        if handoff is None or handoff.status in OPEN_STATUSES or handoff.assigned_to is None:
            raise NothingToRate("no_conversation")
        comment = (comment or "").strip()[:MAX_COMMENT_CHARS] or None
        row = ConversationRating(
            handoff_id=handoff.id,
            conversation_key=conversation_key,
            agent_login=handoff.assigned_to,
            stars=stars,
            comment=comment,
            created_at=self._clock(),
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise NothingToRate("already_rated") from None
        return row.id

    async def summary(self, limit: int = 50) -> dict:
        """For supervisors: counts per star, the average, and the latest ratings."""
        async with self._sessions() as session:
            counts = dict((await session.execute(select(ConversationRating.stars, func.count()).group_by(ConversationRating.stars))).all())
            latest = (
                await session.execute(select(ConversationRating).order_by(ConversationRating.id.desc()).limit(limit))
            ).scalars().all()
        total = sum(counts.values())
        average = round(sum(stars * n for stars, n in counts.items()) / total, 2) if total else None
        return {
            "total": total,
            "average": average,
            "by_stars": {str(stars): counts.get(stars, 0) for stars in range(MIN_STARS, MAX_STARS + 1)},
            "latest": [
                {
                    "handoff_id": r.handoff_id,
                    "agent": r.agent_login,
                    "stars": r.stars,
                    "comment": r.comment,
                    "at": r.created_at.isoformat(),
                }
                for r in latest
            ],
        }
