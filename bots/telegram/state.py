"""What the Telegram adapter keeps in the shared StateStore, and the only place that
spells its ``tg:`` keys.

* ``tg:update:<update_id>`` — the update was taken (a re-delivery has one effect);
* ``tg:group-note:<chat_id>`` — the group was told "write me in private" lately;
* ``tg:cb:<digest>`` — a button payload too long for Telegram's callback data;
* ``tg:kb:<chat_id>`` — the chat shows the share-phone reply keyboard.

Kept in the StateStore (Redis with several processes), not in memory, because an
update re-delivered to another process or a button pressed a week later must find them.
"""

from __future__ import annotations

from dialogs.state.base import StateStore

UPDATE_CLAIM_TTL = 48 * 3600.0  # Telegram keeps an unconfirmed update for 24 hours
GROUP_NOTE_INTERVAL = 3600.0  # at most one "write me in private" per group per hour
STORED_PAYLOAD_TTL = 30 * 24 * 3600.0  # a button older than this answers "outdated"
KEYBOARD_FLAG_TTL = 7 * 24 * 3600.0


class TelegramState:
    """The adapter's keys in one ``StateStore``."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    # -- updates -------------------------------------------------------------------------
    async def claim_update(self, update_id: int) -> bool:
        """True for the first taker of ``update_id``, False for every later one."""
        return await self.store.set_if_absent(f"tg:update:{update_id}", "1", ttl=UPDATE_CLAIM_TTL)

    # -- group chats ---------------------------------------------------------------------
    async def claim_group_note(self, chat_id: str) -> bool:
        """True when the group may be told again (once per ``GROUP_NOTE_INTERVAL``)."""
        return await self.store.set_if_absent(f"tg:group-note:{chat_id}", "1", ttl=GROUP_NOTE_INTERVAL)

    # -- long button payloads ------------------------------------------------------------
    async def keep_payload(self, digest: str, payload: str, *, ttl: float = STORED_PAYLOAD_TTL) -> None:
        await self.store.set(f"tg:cb:{digest}", payload, ttl=ttl)

    async def kept_payload(self, digest: str) -> str | None:
        return await self.store.get(f"tg:cb:{digest}")

    # -- the share-phone keyboard --------------------------------------------------------
    async def keyboard_shown(self, chat_id: str) -> bool:
        return await self.store.get(f"tg:kb:{chat_id}") is not None

    async def mark_keyboard_shown(self, chat_id: str) -> None:
        await self.store.set(f"tg:kb:{chat_id}", "1", ttl=KEYBOARD_FLAG_TTL)

    async def forget_keyboard(self, chat_id: str) -> None:
        await self.store.delete(f"tg:kb:{chat_id}")
