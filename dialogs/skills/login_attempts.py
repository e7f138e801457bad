"""What the verify skill remembers between turns: wrong guesses, locks and one-time
codes. The one owner of the ``verify:*`` keys of the StateStore (tests and the
skill go through it)."""

from __future__ import annotations

import hashlib
import hmac

from dialogs.state.base import StateStore
from dialogs.turn import VerifyPolicy

SMS_PER_WINDOW = 3  # codes sent to one account per window


def _digest(number: str, code: str) -> str:
    return hashlib.sha256(f"{number}:{code}".encode()).hexdigest()


class LoginAttempts:
    def __init__(self, store: StateStore, policy: VerifyPolicy) -> None:
        self._store = store
        self._policy = policy

    # -- locks -------------------------------------------------------------------------
    async def account_locked_for(self, number: str) -> float | None:
        """Seconds until the account may be tried again; None if it is not locked."""
        return await self._store.ttl(f"verify:locked:acct:{number}")

    async def locked_for(self, number: str, conversation_key: str) -> float | None:
        """The account's lock, else the conversation's."""
        remaining = await self.account_locked_for(number)
        if remaining is None:
            remaining = await self._store.ttl(f"verify:locked:conv:{conversation_key}")
        return remaining

    # -- guesses -------------------------------------------------------------------------
    async def succeeded(self, number: str, conversation_key: str) -> None:
        await self._store.delete(f"verify:fails:acct:{number}")
        await self._store.delete(self._code_key(number, conversation_key))

    async def failed(self, number: str, conversation_key: str) -> tuple[int, float | None]:
        """Count a wrong guess: (wrong guesses on the account so far, seconds of the
        lock this guess set on the account or the conversation, or None)."""
        window = self._policy.window_seconds
        account_fails = await self._store.incr(f"verify:fails:acct:{number}", window)
        conversation_fails = await self._store.incr(f"verify:fails:conv:{conversation_key}", window)
        if account_fails >= self._policy.max_attempts:
            lock = f"verify:locked:acct:{number}"
        elif conversation_fails >= self._policy.max_attempts_per_conversation:
            lock = f"verify:locked:conv:{conversation_key}"
        else:
            return account_fails, None
        await self._store.set(lock, "1", ttl=window)
        return account_fails, await self._store.ttl(lock)

    # -- one-time codes ------------------------------------------------------------------
    async def may_send_code(self, number: str) -> bool:
        """Count a code about to be sent; False past the limit per window."""
        sent = await self._store.incr(f"verify:sms_sent:{number}", self._policy.window_seconds)
        return sent <= SMS_PER_WINDOW

    async def keep_code(self, number: str, conversation_key: str, code: str) -> None:
        await self._store.set(
            self._code_key(number, conversation_key), _digest(number, code), ttl=self._policy.sms_code_ttl_seconds
        )

    async def code_matches(self, number: str, conversation_key: str, code: str) -> bool:
        stored = await self._store.get(self._code_key(number, conversation_key))
        return stored is not None and hmac.compare_digest(stored, _digest(number, code))

    @staticmethod
    def _code_key(number: str, conversation_key: str) -> str:
        return f"verify:code:{conversation_key}:{number}"
