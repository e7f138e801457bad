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

import logging

from dialogs.state.base import StateStore

log = logging.getLogger(__name__)

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
    # Cosmetic: while the store (Redis) is away the reply must still go out — the engine's
    # apology above all — so a failure here is logged and the keyboard treated as not shown
    # (at worst a share-phone keyboard stays up). Raising lost the reply: the update was
    # acknowledged and marked done, and never answered (the combined fault run found it).
    async def keyboard_shown(self, chat_id: str) -> bool:
        try:
            return await self.store.get(f"tg:kb:{chat_id}") is not None
        except Exception as error:  # noqa: BLE001 - see above
            log.warning("telegram: keyboard state of %s unknown (%s: %s)", chat_id, type(error).__name__, error)
            return False

    async def mark_keyboard_shown(self, chat_id: str) -> None:
        try:
            await self.store.set(f"tg:kb:{chat_id}", "1", ttl=KEYBOARD_FLAG_TTL)
        except Exception as error:  # noqa: BLE001 - see above
            log.warning("telegram: keyboard state of %s not kept (%s: %s)", chat_id, type(error).__name__, error)

    async def forget_keyboard(self, chat_id: str) -> None:
        try:
            await self.store.delete(f"tg:kb:{chat_id}")
        except Exception as error:  # noqa: BLE001 - see above
            log.warning("telegram: keyboard state of %s not cleared (%s: %s)", chat_id, type(error).__name__, error)
