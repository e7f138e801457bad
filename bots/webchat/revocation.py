"""Ended web chat sessions: when the subscriber ends the chat, every token of that session
(the one presented and any renewed one) is refused from then on.

Tokens are stateless (``tokens.py``), so "ended" is the only thing kept: one StateStore
key per ended session, ``webchat:ended:<session id>``, expiring with the session's
absolute lifetime — after that the signer refuses its tokens by itself, so the store
never grows beyond the sessions ended within ``WEBCHAT_TOKEN_TTL_ABSOLUTE_HOURS``.
"""

from __future__ import annotations

import logging

from dialogs.state.base import StateStore

log = logging.getLogger(__name__)


def _ended_key(session_id: str) -> str:
    return f"webchat:ended:{session_id}"


class SessionRevocations:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def end(self, session_id: str, *, seconds_left: float) -> None:
        """Refuse the session's tokens for the ``seconds_left`` they could still be valid."""
        await self._store.set(_ended_key(session_id), "1", ttl=max(1.0, seconds_left))

    @staticmethod
    def key(session_id: str) -> str:
        """The StateStore key that is set once the session ended (for
        ``Inbound.refused_if_set``: the engine's gate checks it with the turn's lock)."""
        return _ended_key(session_id)

    async def is_ended(self, session_id: str) -> bool | None:
        """True/False, or None when the store cannot say (Redis away): the caller decides."""
        try:
            return await self._store.get(_ended_key(session_id)) is not None
        except Exception as error:  # noqa: BLE001 - any store failure means "unknown"
            log.warning("web chat: cannot check whether session %s was ended: %s: %s", session_id[:8], type(error).__name__, error)
            return None
