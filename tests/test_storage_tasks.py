"""storage.tasks: the helpers every background loop uses to wait and to stop."""

import asyncio

from storage.tasks import stop_task, wait_or_timeout


async def test_wait_or_timeout_reports_whether_the_event_was_set():
    event = asyncio.Event()
    assert await wait_or_timeout(event, 0.01) is False
    event.set()
    assert await wait_or_timeout(event, 5) is True


async def test_stop_task_cancels_and_waits_for_the_end():
    ended = asyncio.Event()

    async def forever():
        try:
            await asyncio.sleep(3600)
        finally:
            ended.set()

    task = asyncio.get_running_loop().create_task(forever())
    await asyncio.sleep(0)
    await stop_task(task)
    assert task.cancelled() and ended.is_set()
    await stop_task(None)  # nothing started: nothing to stop
