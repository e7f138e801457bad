"""The durable outbox: retryable refusals are retried with a backoff, never sent twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bots.outbox import QUEUED_REASON, Outbox, OutboxWorker
from dialogs.delivery import DeliveryResult
from dialogs.messages import Reply
from storage.clock import utc_now


class MessengerApi:
    """Stands in for a messenger's HTTP API (the Telegram test below uses the real
    sender against the Bot API double): answers with scripted results, counts sends."""

    def __init__(self, *results: DeliveryResult) -> None:
        self.results = list(results)
        self.sent: list[tuple[str, tuple[Reply, ...]]] = []

    async def send(self, conversation_key, replies):
        await asyncio.sleep(0)  # a real call yields; concurrent workers interleave here
        result = self.results.pop(0) if self.results else DeliveryResult.ok("m1")
        if result.sent:
            self.sent.append((conversation_key, tuple(replies)))
        return result


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self):
        return self.now


REPLY = [Reply("Оператор: перезвоним в 15:00.")]


async def test_a_retryable_refusal_is_retried_after_the_backoff(db_sessions):
    clock = Clock()
    api = MessengerApi(DeliveryResult.failed("Telegram недоступен", retryable=True, detail="502"))
    outbox = Outbox(db_sessions, api, base_delay_seconds=10, clock=clock)
    first = await outbox.deliver("telegram:1", REPLY, idempotency_key="agent:1")
    assert not first.sent and first.retryable and first.reason == QUEUED_REASON
    assert await outbox.retry_due() == 0  # not yet due
    clock.now += timedelta(seconds=13)
    assert await outbox.retry_due() == 1
    assert api.sent == [("telegram:1", tuple(REPLY))]
    assert await outbox.counts() == {"sent": 1}


async def test_the_same_idempotency_key_is_sent_once(db_sessions):
    api = MessengerApi()
    outbox = Outbox(db_sessions, api)
    results = await asyncio.gather(*(outbox.deliver("telegram:1", REPLY, idempotency_key="k") for _ in range(5)))
    assert len(api.sent) == 1
    assert sum(r.sent for r in results) >= 1


async def test_concurrent_workers_never_send_a_row_twice(db_sessions):
    api = MessengerApi()
    outbox = Outbox(db_sessions, api)
    for n in range(30):
        await outbox.enqueue(f"telegram:{n}", REPLY, idempotency_key=f"k{n}")
    await asyncio.gather(*(Outbox(db_sessions, api).retry_due(limit=4) for _ in range(10)))
    await outbox.retry_due(limit=100)
    assert sorted(key for key, _ in api.sent) == sorted(f"telegram:{n}" for n in range(30))


async def test_permanent_refusals_and_exhausted_retries_stop(db_sessions):
    clock = Clock()
    api = MessengerApi(
        DeliveryResult.failed("Пользователь заблокировал бота."),
        *[DeliveryResult.failed("timeout", retryable=True)] * 3,
    )
    outbox = Outbox(db_sessions, api, max_attempts=3, base_delay_seconds=1, clock=clock)
    blocked = await outbox.deliver("telegram:1", REPLY, idempotency_key="a")
    assert blocked.reason == "Пользователь заблокировал бота." and not blocked.retryable
    await outbox.deliver("telegram:2", REPLY, idempotency_key="b")
    for _ in range(5):
        clock.now += timedelta(minutes=5)
        await outbox.retry_due()
    assert await outbox.counts() == {"failed": 2}
    assert api.sent == []


async def test_a_send_cut_off_by_a_crash_is_not_repeated(db_sessions):
    clock = Clock()
    api = MessengerApi()
    outbox = Outbox(db_sessions, api, lease_seconds=30, clock=clock)
    await outbox.enqueue("telegram:1", REPLY, idempotency_key="c")
    await outbox._claim(limit=1)  # claimed and marked "sending" ... then SIGKILL
    clock.now += timedelta(minutes=5)
    assert await outbox.retry_due() == 0
    assert await outbox.counts() == {"unknown": 1}
    assert api.sent == []
