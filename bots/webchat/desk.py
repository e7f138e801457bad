"""What the web chat asks the support desk (agents' presence, ratings), as a port.

The app wires an implementation (``dispatcher.ratings.Ratings``) on
``app.state.support_desk``: channels do not import the dispatcher.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import HTTPException, Request, status


class DeskStatusLike(Protocol):
    agents_online: bool
    can_rate: bool
    agent_name: str | None


class SupportDesk(Protocol):
    async def status(self, conversation_key: str) -> DeskStatusLike: ...

    async def rate(self, conversation_key: str, stars: int, comment: str | None) -> int:
        """The new rating's id; raises LookupError (with ``code``) when there is nothing to rate."""
        ...


def desk_of(request: Request) -> SupportDesk:
    desk = getattr(request.app.state, "support_desk", None)
    if desk is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail={"code": "unavailable", "message": "The support desk is not running."})
    return desk
