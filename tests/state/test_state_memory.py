"""MemoryStateStore specifics: nothing grows without bound."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dialogs.state import make_state_store
from dialogs.state.base import LockTimeout
from dialogs.state.memory import MemoryStateStore


class ManualClock:
    """A monotonic time source the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_lock_entries_are_removed_after_every_way_of_leaving():
    store = MemoryStateStore()
    async with store.lock("plain"):
        assert store.stats().locks == 1
    with pytest.raises(RuntimeError):
        async with store.lock("raised"):
            raise RuntimeError
    async with store.lock("held"):
        with pytest.raises(LockTimeout):
            async with store.lock("held", wait=0.05):
                pass
    # A waiter cancelled while waiting.
    async with store.lock("contended"):
        waiter = asyncio.create_task(store.lock("contended").__aenter__())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    # A holder that outlived its timeout and left afterwards.
    async with store.lock("expired", timeout=0.05):
        await asyncio.sleep(0.1)
    # Many keys at once.
    await asyncio.gather(*(_hold(store, f"conv:{n}") for n in range(200)))
    assert store.stats().locks == 0


async def _hold(store: MemoryStateStore, key: str) -> None:
    async with store.lock(key, timeout=5, wait=5):
        await asyncio.sleep(0)


async def test_expired_lock_is_logged(caplog):
    store = MemoryStateStore()
    with caplog.at_level(logging.WARNING, logger="dialogs.state.memory"):
        async with store.lock("slow", timeout=0.05):
            await asyncio.sleep(0.1)
    assert "slow" in caplog.text and "timeout" in caplog.text


async def test_sweep_removes_expired_keys_nobody_reads_again():
    clock = ManualClock()
    store = MemoryStateStore(clock=clock, sweep_batch=1000)
    for n in range(2500):
        await store.set(f"dedup:{n}", "1", ttl=60)
    await store.set("conv:kept", "state")
    await store.set("conv:later", "state", ttl=600)
    assert store.stats().keys == 2502

    clock.now += 61
    for _ in range(3):  # each call removes at most one batch, so no call stalls
        await store.get("conv:kept")
    assert store.stats().keys == 2
    assert store.stats().pending_expiries == 1
    assert await store.get("conv:later") == "state"


async def test_expiry_heap_stays_bounded_when_keys_are_rewritten():
    clock = ManualClock()
    store = MemoryStateStore(clock=clock, sweep_batch=100)
    for n in range(20_000):  # one conversation's state rewritten on every message
        await store.set("conv:1", str(n), ttl=1800)
    stats = store.stats()
    assert stats.keys == 1
    assert stats.pending_expiries <= 2 * stats.keys + 100 + 1
    clock.now += 1801
    await store.get("other")
    assert store.stats().keys == 0


async def test_overwritten_key_is_not_removed_by_its_old_expiry():
    clock = ManualClock()
    store = MemoryStateStore(clock=clock)
    await store.set("k", "old", ttl=10)
    await store.set("k", "new", ttl=100)
    clock.now += 11
    assert await store.get("k") == "new"
    assert await store.ttl("k") == pytest.approx(89)


async def test_subscriptions_are_removed_on_leaving():
    store = MemoryStateStore()
    async with store.subscribe("a"), store.subscribe("a"), store.subscribe("b"):
        assert store.stats().subscriptions == 3
    assert store.stats().subscriptions == 0


async def test_full_inbox_drops_the_oldest_events_and_logs(caplog):
    store = MemoryStateStore(subscriber_queue_size=3)
    async with store.subscribe("t") as messages:
        with caplog.at_level(logging.WARNING, logger="dialogs.state._subscription"):
            for n in range(5):
                await store.publish("t", str(n))
        assert [await anext(messages) for _ in range(3)] == ["2", "3", "4"]
        assert messages.dropped == 2
    assert "slow subscriber" in caplog.text


async def test_closed_store_refuses_subscriptions_and_fails_ping():
    store = MemoryStateStore()
    await store.close()
    assert await store.ping() is False
    with pytest.raises(RuntimeError):
        async with store.subscribe("t"):
            pass


@pytest.mark.parametrize("url", [None, ""])
def test_make_state_store_without_redis_is_memory(url):
    assert isinstance(make_state_store(url), MemoryStateStore)


async def test_a_turn_whose_counter_is_no_number_raises_and_gives_the_lock_back():
    store = MemoryStateStore()
    await store.set("rate:c", "not a number")
    with pytest.raises(ValueError):
        async with store.locked_turn("lock:c", timeout=5, wait=1, once_key=None, counter_key="rate:c",
                                     window=60, state_key="conv:c"):  # fmt: skip
            pytest.fail("the turn began")
    assert store.stats().locks == 0
    async with store.lock("lock:c", wait=0):
        pass


async def test_only_a_lock_someone_waits_for_has_an_expiry_timer():
    store = MemoryStateStore()
    async with store.lock("k", timeout=5):
        assert store._locks["k"].expiry is None  # nobody waits: no timer to arm and cancel
        waiter = asyncio.create_task(_hold(store, "k"))
        await asyncio.sleep(0.01)
        assert store._locks["k"].expiry is not None  # someone waits: the holder's timeout must free it
    await waiter
    assert store.stats().locks == 0
