"""The console as the app runs it: the service, the login guard, the cookie policy,
the process's one live-event subscription and the background sweeper."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field

from dialogs.state.base import LockTimeout, StateStore
from dispatcher.console.auth import LoginGuard
from dispatcher.console.service import ConsoleService

log = logging.getLogger(__name__)

SWEEPER_LOCK = "console:sweeper"


@dataclass
class Console:
    service: ConsoleService
    guard: LoginGuard
    store: StateStore
    session_seconds: int
    cookie_secure: bool
    sweep_seconds: float
    _sweeper: asyncio.Task | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Subscribe to live events and start the sweeper (call inside the running loop)."""
        await self.service.hub.start()
        if self._sweeper is None and self.sweep_seconds > 0:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever(), name="console-sweeper")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._sweeper
            self._sweeper = None
        await self.service.hub.close()

    async def sweep_once(self) -> bool:
        """One pass, by at most one process at a time (a StateStore lock: Redis when
        several processes run). Each move is also a conditional UPDATE, so even two
        passes at once could not move one conversation twice."""
        try:
            async with self.store.lock(SWEEPER_LOCK, timeout=max(30.0, self.sweep_seconds * 4), wait=0.05):
                await self.service.sweep()
                return True
        except LockTimeout:
            return False  # another process is sweeping

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - try again on the next tick
                log.exception("console: sweep failed")
