"""What the Viber channel keeps in the StateStore; every key starts with ``viber:`` and
this module is the only one that builds them.

* ``viber:msg:<token>`` — a callback's ``message_token`` already taken (de-duplication
  across processes; Viber re-sends a callback it had no 200 for).
* ``viber:unsub:<user>`` — the subscriber unsubscribed: nothing may be sent.
* ``viber:last-in:<user>`` — when the subscriber last wrote (epoch seconds): a message
  more than 24 hours later opens a paid, chatbot-initiated session.
* ``viber:unanswered:<user>`` — messages sent since the subscriber last wrote, in a
  one-hour window (Viber allows 100).
* ``viber:kb:<user>`` — the keyboard last shown: its payloads (Viber sends a pressed
  ``reply`` button back as an ordinary text message) and whether it offered the
  share-phone button (only then is a shared contact taken as the subscriber's own).
"""

from __future__ import annotations

import json
from datetime import datetime

from dialogs.state.base import StateStore

TOKEN_TTL = 7 * 24 * 3600.0  # Viber retries a callback for a while; a week is plenty
LAST_INBOUND_TTL = 3 * 24 * 3600.0  # past the 24-hour window the value no longer matters
UNANSWERED_WINDOW = 3600.0
KEYBOARD_TTL = 30 * 24 * 3600.0


class ViberState:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    # -- de-duplication ------------------------------------------------------------------
    async def claim_message(self, token: str) -> bool:
        """True the first time a message token is seen (in any process)."""
        return await self.store.set_if_absent(f"viber:msg:{token}", "1", ttl=TOKEN_TTL)

    # -- subscription ----------------------------------------------------------------------
    async def mark_unsubscribed(self, user_id: str) -> None:
        await self.store.set(f"viber:unsub:{user_id}", "1")

    async def mark_subscribed(self, user_id: str) -> None:
        await self.store.delete(f"viber:unsub:{user_id}")

    async def is_unsubscribed(self, user_id: str) -> bool:
        return await self.store.get(f"viber:unsub:{user_id}") is not None

    # -- the subscriber wrote --------------------------------------------------------------
    async def note_inbound(self, user_id: str, at: datetime) -> None:
        """A message from the subscriber: a new 24-hour session, and the count of
        unanswered messages starts again (Viber resets it when the user replies)."""
        await self.store.set(f"viber:last-in:{user_id}", str(at.timestamp()), ttl=LAST_INBOUND_TTL)
        await self.store.delete(f"viber:unanswered:{user_id}")

    async def last_inbound(self, user_id: str) -> float | None:
        value = await self.store.get(f"viber:last-in:{user_id}")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    async def count_outbound(self, user_id: str) -> int:
        """Count one more message to the subscriber; returns the count in this hour."""
        return await self.store.incr(f"viber:unanswered:{user_id}", UNANSWERED_WINDOW)

    async def unanswered(self, user_id: str) -> int:
        value = await self.store.get(f"viber:unanswered:{user_id}")
        return int(value) if value and value.isdigit() else 0

    async def unanswered_resets_in(self, user_id: str) -> float | None:
        return await self.store.ttl(f"viber:unanswered:{user_id}")

    # -- the keyboard shown ----------------------------------------------------------------
    async def remember_keyboard(self, user_id: str, payloads: list[str], *, asks_phone: bool) -> None:
        """The keyboard just sent replaces the one before (Viber shows the last one)."""
        value = json.dumps({"p": payloads, "phone": asks_phone}, ensure_ascii=False)
        await self.store.set(f"viber:kb:{user_id}", value, ttl=KEYBOARD_TTL)

    async def forget_keyboard(self, user_id: str) -> None:
        await self.store.delete(f"viber:kb:{user_id}")

    async def keyboard(self, user_id: str) -> tuple[set[str], bool]:
        """The payloads of the keyboard shown, and whether it had the share-phone button."""
        value = await self.store.get(f"viber:kb:{user_id}")
        try:
            data = json.loads(value) if value else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return set(), False
        payloads = {p for p in data.get("p", ()) if isinstance(p, str)}
        return payloads, data.get("phone") is True
