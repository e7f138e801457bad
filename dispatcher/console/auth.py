"""Console authentication: failed-login limits, and who is calling.

Failed logins are counted per login and per client address in the StateStore (shared
by every process); past the limit the login is locked for a while and the answer is
429 with ``Retry-After`` — for an unknown login exactly as for a known one, so the
lock reveals nothing about which logins exist.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from dialogs.state.base import StateStore

COOKIE = "isp_console"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ADDRESS_FACTOR = 5  # one address may fail this many times more (a shared office NAT)


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int
    lock_seconds: int


class LoginGuard:
    def __init__(self, store: StateStore, limits: LoginLimits) -> None:
        self._store = store
        self._limits = limits

    @staticmethod
    def _keys(login: str, address: str) -> tuple[str, str]:
        return f"console:login:lock:{login.strip().casefold()}", f"console:login:lock-ip:{address}"

    async def locked_for(self, login: str, address: str) -> int | None:
        """Seconds until this login (or address) may try again; None when it may now."""
        for key in self._keys(login, address):
            if await self._store.get(key) is not None:
                remaining = await self._store.ttl(key)
                return max(1, int(remaining or self._limits.lock_seconds))
        return None

    async def failed(self, login: str, address: str) -> None:
        window = float(self._limits.lock_seconds)
        login_lock, address_lock = self._keys(login, address)
        if await self._store.incr(f"console:login:fail:{login.strip().casefold()}", window) >= self._limits.max_failures:
            await self._store.set(login_lock, "1", ttl=window)
        if await self._store.incr(f"console:login:fail-ip:{address}", window) >= self._limits.max_failures * ADDRESS_FACTOR:
            await self._store.set(address_lock, "1", ttl=window)

    async def succeeded(self, login: str) -> None:
        await self._store.delete(f"console:login:fail:{login.strip().casefold()}")


def csrf_ok(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
