"""Background work that keeps each subscriber's messages in arrival order.

Each key has a tail: new work for the key waits for the work before it, so a password
never overtakes the account number typed just before it, while different subscribers
run side by side.
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
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
