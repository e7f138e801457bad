"""Background work that keeps each subscriber's messages in arrival order.

Each key has a tail: new work for the key waits for the work before it, so a password
never overtakes the account number typed just before it, while different subscribers
run side by side. Shared by the channels that process messages in the background
(Viber, and WhatsApp without an inbox); :func:`finish_or_cancel` also serves Telegram's
task pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class OrderedPerKey:
    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: str, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        previous = self._tails.get(key)

        async def in_turn() -> None:
            if previous is not None:
                await asyncio.wait({previous})
            await work()

        task = asyncio.ensure_future(in_turn())
        self._tails[key] = task
        self.tasks.add(task)
        task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if self._tails.get(key) is task:
            del self._tails[key]

    async def drain(self) -> None:
        """Wait until every submitted piece of work has ended (tests, shutdown)."""
        await drain_tasks(self.tasks)

    async def close(self, *, grace: float) -> int:
        """Let work in progress finish (up to ``grace`` seconds), cancel the rest; the
        number cancelled."""
        return await finish_or_cancel(self.tasks, grace)


async def drain_tasks(tasks: set[asyncio.Task]) -> None:
    """Wait until the set (which finishing tasks leave, and new ones may join) is empty."""
    while tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)


async def finish_or_cancel(tasks: set[asyncio.Task], grace: float) -> int:
    """Let the tasks finish (up to ``grace`` seconds), cancel the rest and wait for them;
    the number cancelled."""
    if not tasks:
        return 0
    _, pending = await asyncio.wait(set(tasks), timeout=grace)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    return len(pending)
