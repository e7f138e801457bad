"""The durable intake on both databases: retries collapse, claims are exclusive,
per-conversation order, failures retried, unfinished rows picked up after a restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bots.inbox import Inbox, InboxWorker
from storage.clock import utc_now


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self):
        return self.now


async def test_a_retried_update_is_recorded_once(db_sessions):
    inbox = Inbox(db_sessions)
    assert await inbox.record("telegram", "1001", "telegram:7", '{"update_id": 1001}') is True
    assert await inbox.record("telegram", "1001", "telegram:7", '{"update_id": 1001}') is False
    assert await inbox.record("viber", "1001", "viber:7", "{}") is True  # ids are per channel
    assert await inbox.counts("telegram") == {"pending": 1}


async def test_concurrent_workers_never_claim_the_same_update(db_sessions):
    inbox = Inbox(db_sessions)
    for n in range(40):
        await inbox.record("telegram", str(n), f"telegram:{n}", "{}")
    batches = await asyncio.gather(*(inbox.claim("telegram", 7) for _ in range(8)))
    claimed = [item.provider_id for batch in batches for item in batch]
    assert len(claimed) == len(set(claimed))
    assert len(claimed) <= 40


async def test_one_conversation_is_processed_in_order_one_at_a_time(db_sessions):
    inbox = Inbox(db_sessions)
    for n, chat in enumerate(["a", "a", "b", "a"]):
        await inbox.record("telegram", str(n), f"telegram:{chat}", str(n))
    first = await inbox.claim("telegram", 10)
    assert [i.payload for i in first] == ["0", "2"]  # the second of "a" waits for the first
    assert await inbox.claim("telegram", 10) == []
    for item in first:
        await inbox.done(item)
    assert [i.payload for i in await inbox.claim("telegram", 10)] == ["1"]


async def test_the_worker_processes_each_update_once_and_retries_a_failure(db_sessions):
    inbox = Inbox(db_sessions, retry_seconds=0)
    handled: list[str] = []
    failures = {"2": 1}

    async def handle(item):
        if failures.get(item.payload):
            failures[item.payload] -= 1
            raise RuntimeError("engine hiccup")
        handled.append(item.payload)

    for n in range(1, 5):
        await inbox.record("telegram", str(n), f"telegram:{n % 2}", str(n))
    worker = InboxWorker(inbox, "telegram", handle)
    await worker.drain()
    assert sorted(handled) == ["1", "2", "3", "4"]
    assert handled.index("2") < handled.index("4")  # same conversation: in order, even after a retry
    assert await inbox.counts() == {"done": 4}


async def test_a_poison_update_is_given_up_after_max_attempts(db_sessions):
    inbox = Inbox(db_sessions, retry_seconds=0, max_attempts=3)

    async def handle(item):
        raise ValueError("cannot process this")

    await inbox.record("telegram", "9", "telegram:1", "{}")
    await InboxWorker(inbox, "telegram", handle).drain()
    assert await inbox.counts() == {"failed": 1}


async def test_an_update_claimed_by_a_dead_worker_is_processed_after_its_lease(db_sessions):
    clock = Clock()
    inbox = Inbox(db_sessions, lease_seconds=30, clock=clock)
    await inbox.record("telegram", "5", "telegram:1", "{}")
    claimed = await inbox.claim("telegram")  # ... and the process is killed here
    assert len(claimed) == 1
    assert await inbox.claim("telegram") == []  # still leased
    clock.now += timedelta(seconds=31)  # "after the restart"
    again = await inbox.claim("telegram")
    assert [i.provider_id for i in again] == ["5"] and again[0].attempts == 2
    assert await inbox.done(again[0]) is True
    assert await inbox.done(claimed[0]) is False  # the dead worker's claim is void
    clock.now += timedelta(seconds=60)
    assert await inbox.claim("telegram") == []  # done means done: processed exactly once
