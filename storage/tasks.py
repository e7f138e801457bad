"""Small asyncio helpers for the background loops (inbox/outbox workers, the transcript
writer, the Telegram poller, the console's event subscription). Imports none of ours."""

from __future__ import annotations

import asyncio
from contextlib import suppress


async def stop_task(task: asyncio.Task | None) -> None:
    """Cancel a background task and wait until it has ended (its cancellation is expected)."""
    if task is None:
        return
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> bool:
    """Sleep until ``event`` is set or ``seconds`` pass; True when the event was set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except asyncio.TimeoutError:
        return False
    return True
