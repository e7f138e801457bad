"""Everything the WhatsApp channel keeps in the StateStore; this module owns the
``wa:`` key prefix.

* ``wa:msg:<MessageSid>`` — a message claimed for processing (Twilio retries a webhook
  it got no answer for; several processes share the claim through Redis).
* ``wa:seen:<phone>`` — when the subscriber last wrote: WhatsApp's 24-hour
  customer-service window is counted from it.
* ``wa:menu:<phone>`` and ``wa:menu:<phone>:<token>`` — the buttons of the newest
  message as a numbered menu (digit → payload), and each menu by its token so a
  pressed quick reply of an older message still means what it said.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Sequence

from dialogs.state.base import StateStore

CLAIM_TTL = 48 * 3600.0  # Twilio retries within minutes; keep the claim well past that
MENU_TTL = 7 * 24 * 3600.0
SEEN_SLACK = 24 * 3600.0  # keep the last-seen time a day past the window
DIGIT = re.compile(r"\s*(\d{1,2})\s*[.)]?\s*")
BUTTON_ID = re.compile(r"([0-9a-f]{6,16})\.(\d{1,2})")


class WhatsAppState:
    def __init__(self, store: StateStore, *, window: timedelta) -> None:
        self.store = store
        self.window = window

    # -- de-duplication ---------------------------------------------------------------------------
    async def claim_message(self, message_sid: str) -> bool:
        """True for the first delivery of ``message_sid``; False for Twilio's retries."""
        return await self.store.set_if_absent(f"wa:msg:{message_sid}", "1", ttl=CLAIM_TTL)

    # -- the 24-hour window --------------------------------------------------------------------------
    async def note_inbound(self, phone: str, at: datetime) -> None:
        await self.store.set(f"wa:seen:{phone}", at.isoformat(), ttl=self.window.total_seconds() + SEEN_SLACK)

    async def window_open(self, phone: str, now: datetime) -> bool:
        seen = await self.store.get(f"wa:seen:{phone}")
        if seen is None:
            return False
        return now - datetime.fromisoformat(seen) < self.window

    # -- numbered menus and quick replies ------------------------------------------------------------
    @staticmethod
    def new_menu_token() -> str:
        return secrets.token_hex(4)

    async def remember_menu(self, phone: str, token: str, payloads: Sequence[str]) -> None:
        """The buttons just sent, numbered from 1; an empty list forgets the menu, so a
        digit typed after a plain question is read as text."""
        if not payloads:
            await self.store.delete(f"wa:menu:{phone}")
            return
        value = json.dumps({"token": token, "payloads": list(payloads)}, ensure_ascii=False)
        await self.store.set(f"wa:menu:{phone}", value, ttl=MENU_TTL)
        await self.store.set(f"wa:menu:{phone}:{token}", value, ttl=MENU_TTL)

    async def payload_for_digit(self, phone: str, text: str) -> str | None:
        """The payload a typed digit picks from the newest menu, or None."""
        match = DIGIT.fullmatch(text or "")
        if match is None:
            return None
        return await self._pick(f"wa:menu:{phone}", int(match.group(1)))

    async def payload_for_button(self, phone: str, button_id: str) -> str | None:
        """The payload of a pressed quick reply (id ``<token>.<n>``), or None if unknown."""
        match = BUTTON_ID.fullmatch(button_id or "")
        if match is None:
            return None
        return await self._pick(f"wa:menu:{phone}:{match.group(1)}", int(match.group(2)))

    async def _pick(self, key: str, number: int) -> str | None:
        raw = await self.store.get(key)
        if raw is None:
            return None
        payloads = json.loads(raw)["payloads"]
        return payloads[number - 1] if 1 <= number <= len(payloads) else None
