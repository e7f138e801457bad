"""The StateStore contract: every test runs against each backend (``state_store``
fixture: memory and Redis). Times are short (tenths of a second) on purpose."""

from __future__ import annotations

import asyncio
import time

import pytest

from dialogs.state.base import LockTimeout, StateStore

# -- plain values ---------------------------------------------------------------------


async def test_get_set_delete(state_store: StateStore):
    assert await state_store.get("conv:1") is None
    await state_store.set("conv:1", "greeting")
    assert await state_store.get("conv:1") == "greeting"
    await state_store.set("conv:1", "verified")
    assert await state_store.get("conv:1") == "verified"
    await state_store.delete("conv:1")
    assert await state_store.get("conv:1") is None
    await state_store.delete("conv:1")  # deleting what is gone is fine


async def test_values_keep_unicode_and_empty_strings(state_store: StateStore):
    await state_store.set("text", "Здравствуйте! Ваш баланс: 350 ₽")
    await state_store.set("empty", "")
    assert await state_store.get("text") == "Здравствуйте! Ваш баланс: 350 ₽"
    assert await state_store.get("empty") == ""


async def test_set_with_ttl_expires(state_store: StateStore):
    await state_store.set("code", "1234", ttl=0.2)
    remaining = await state_store.ttl("code")
    assert remaining is not None and 0 < remaining <= 0.2
    assert await state_store.get("code") == "1234"
    await asyncio.sleep(0.3)
    assert await state_store.get("code") is None
    assert await state_store.ttl("code") is None


async def test_ttl_is_none_for_absent_and_unexpiring_keys(state_store: StateStore):
    assert await state_store.ttl("nothing") is None
    await state_store.set("forever", "x")
    assert await state_store.ttl("forever") is None


async def test_set_without_ttl_removes_an_earlier_expiry(state_store: StateStore):
    await state_store.set("k", "short", ttl=0.2)
    await state_store.set("k", "long")
    await asyncio.sleep(0.3)
    assert await state_store.get("k") == "long"
    assert await state_store.ttl("k") is None


async def test_delete_removes_expiry_too(state_store: StateStore):
    await state_store.set("k", "v", ttl=0.2)
    await state_store.delete("k")
    await state_store.set("k", "again")
    await asyncio.sleep(0.3)
    assert await state_store.get("k") == "again"


@pytest.mark.parametrize("bad_ttl", [0, -1])
async def test_non_positive_ttl_is_rejected(state_store: StateStore, bad_ttl):
    with pytest.raises(ValueError):
        await state_store.set("k", "v", ttl=bad_ttl)
    with pytest.raises(ValueError):
        await state_store.set_if_absent("k", "v", ttl=bad_ttl)
    with pytest.raises(ValueError):
        await state_store.incr("k", window=bad_ttl)
    assert await state_store.get("k") is None


async def test_set_if_absent(state_store: StateStore):
    assert await state_store.set_if_absent("dedup:msg-1", "first") is True
    assert await state_store.set_if_absent("dedup:msg-1", "second") is False
    assert await state_store.get("dedup:msg-1") == "first"


async def test_set_if_absent_succeeds_again_after_expiry(state_store: StateStore):
    assert await state_store.set_if_absent("dedup", "a", ttl=0.2) is True
    remaining = await state_store.ttl("dedup")
    assert remaining is not None and 0 < remaining <= 0.2
    await asyncio.sleep(0.3)
    assert await state_store.set_if_absent("dedup", "b", ttl=0.2) is True
    assert await state_store.get("dedup") == "b"


async def test_set_if_absent_race_has_exactly_one_winner(state_store: StateStore):
    results = await asyncio.gather(*(state_store.set_if_absent("race", f"task-{n}") for n in range(20)))
    assert results.count(True) == 1
    winner = results.index(True)
    assert await state_store.get("race") == f"task-{winner}"


# -- counters -----------------------------------------------------------------------------


async def test_incr_counts_within_a_window(state_store: StateStore):
    assert [await state_store.incr("rate", window=5) for _ in range(3)] == [1, 2, 3]
    assert await state_store.get("rate") == "3"
    remaining = await state_store.ttl("rate")
    assert remaining is not None and 4 < remaining <= 5


async def test_incr_window_is_fixed_and_then_starts_over(state_store: StateStore):
    assert await state_store.incr("rate", window=0.4) == 1
    await asyncio.sleep(0.2)
    assert await state_store.incr("rate", window=0.4) == 2
    remaining = await state_store.ttl("rate")
    # The second increment did not extend the window started by the first one.
    assert remaining is not None and remaining <= 0.25
    await asyncio.sleep(remaining + 0.1)
    assert await state_store.get("rate") is None
    assert await state_store.incr("rate", window=0.4) == 1


async def test_incr_keys_are_independent(state_store: StateStore):
    await state_store.incr("a", window=5)
    await state_store.incr("a", window=5)
    assert await state_store.incr("b", window=5) == 1


async def test_concurrent_incr_loses_no_count(state_store: StateStore):
    counts = await asyncio.gather(*(state_store.incr("burst", window=5) for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))


async def test_incr_of_a_plain_value_gets_a_window(state_store: StateStore):
    await state_store.set("n", "7")
    assert await state_store.incr("n", window=0.2) == 8
    assert await state_store.ttl("n") is not None
    await asyncio.sleep(0.3)
    assert await state_store.get("n") is None


# -- locks --------------------------------------------------------------------------------------


async def test_lock_excludes_other_holders(state_store: StateStore):
    shared = {"counter": 0, "inside": 0}

    async def add(times: int) -> None:
        for _ in range(times):
            async with state_store.lock("conv:42", timeout=5, wait=5):
                shared["inside"] += 1
                assert shared["inside"] == 1, "two holders inside the critical section"
                value = shared["counter"]
                await asyncio.sleep(0.001)  # give the other task every chance to interleave
                shared["counter"] = value + 1
                shared["inside"] -= 1

    await asyncio.gather(add(10), add(10))
    assert shared["counter"] == 20


async def test_lock_wait_runs_out(state_store: StateStore):
    async with state_store.lock("busy", timeout=5, wait=1):
        started = time.monotonic()
        with pytest.raises(LockTimeout) as raised:
            async with state_store.lock("busy", timeout=5, wait=0.2):
                pytest.fail("acquired a lock that is held")
        assert isinstance(raised.value, TimeoutError)
        assert time.monotonic() - started < 1.5


async def test_lock_without_waiting_fails_at_once_when_held(state_store: StateStore):
    async with state_store.lock("busy", timeout=5, wait=0):
        with pytest.raises(LockTimeout):
            async with state_store.lock("busy", timeout=5, wait=0):
                pass


async def test_lock_is_free_again_after_release(state_store: StateStore):
    async with state_store.lock("k", timeout=5, wait=0.2):
        pass
    async with state_store.lock("k", timeout=5, wait=0.2):
        pass


async def test_lock_is_released_when_the_body_raises(state_store: StateStore):
    with pytest.raises(RuntimeError):
        async with state_store.lock("k", timeout=5, wait=0.2):
            raise RuntimeError("handler failed")
    async with state_store.lock("k", timeout=5, wait=0.2):
        pass


async def test_lock_is_released_when_the_holder_is_cancelled(state_store: StateStore):
    entered = asyncio.Event()

    async def hold() -> None:
        async with state_store.lock("k", timeout=5, wait=1):
            entered.set()
            await asyncio.sleep(10)

    holder = asyncio.create_task(hold())
    await entered.wait()
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    async with state_store.lock("k", timeout=5, wait=0.5):
        pass


async def test_lock_frees_itself_after_timeout(state_store: StateStore):
    # A holder that never leaves (a hung or dead worker).
    abandoned = state_store.lock("k", timeout=0.3, wait=1)
    await abandoned.__aenter__()
    started = time.monotonic()
    async with state_store.lock("k", timeout=5, wait=3):
        waited = time.monotonic() - started
        assert 0.15 <= waited < 2
        # The late holder leaving must not free the lock the new holder has.
        await abandoned.__aexit__(None, None, None)
        with pytest.raises(LockTimeout):
            async with state_store.lock("k", timeout=5, wait=0.2):
                pass


async def test_a_lock_past_its_timeout_is_free_for_whoever_comes_later(state_store: StateStore):
    # Nobody waited while it was held (the in-process store arms no timer then): the
    # lock is still free at once for someone who comes after its timeout.
    abandoned = state_store.lock("k", timeout=0.2, wait=1)
    await abandoned.__aenter__()
    await asyncio.sleep(0.3)
    started = time.monotonic()
    async with state_store.lock("k", timeout=5, wait=2):
        assert time.monotonic() - started < 0.15
    await abandoned.__aexit__(None, None, None)  # its late leaving: see the test above


async def test_a_waiter_gets_the_lock_at_the_holders_timeout_not_before(state_store: StateStore):
    abandoned = state_store.lock("k", timeout=0.6, wait=1)
    await abandoned.__aenter__()
    await asyncio.sleep(0.3)  # the waiter comes halfway through the holder's timeout
    started = time.monotonic()
    async with state_store.lock("k", timeout=5, wait=3):
        waited = time.monotonic() - started
        assert 0.15 <= waited < 1.5
    await abandoned.__aexit__(None, None, None)


async def test_locks_on_different_keys_do_not_block_each_other(state_store: StateStore):
    async with state_store.lock("conv:1", timeout=5, wait=0.2):
        async with state_store.lock("conv:2", timeout=5, wait=0.2):
            pass


async def test_lock_and_value_with_the_same_key_are_independent(state_store: StateStore):
    await state_store.set("conv:1", "state")
    async with state_store.lock("conv:1", timeout=5, wait=0.2):
        assert await state_store.get("conv:1") == "state"
        assert await state_store.set_if_absent("conv:1", "other") is False
    assert await state_store.get("conv:1") == "state"


async def test_waiters_get_the_lock_one_after_another(state_store: StateStore):
    order: list[int] = []

    async def take(n: int) -> None:
        async with state_store.lock("queue", timeout=5, wait=5):
            order.append(n)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(take(n) for n in range(5)))
    assert sorted(order) == list(range(5))


# -- one turn of a conversation (locked_turn) -----------------------------------------------------


def turn(state_store: StateStore, *, once: str | None = "dedup:m1", timeout: float = 5, wait: float = 0.5,
         window: float = 60):
    return state_store.locked_turn("lock:c", timeout=timeout, wait=wait, once_key=once,
                                   counter_key="rate:c", window=window, state_key="conv:c")


async def test_locked_turn_reads_state_and_counts(state_store: StateStore):
    await state_store.set("conv:c", "{\"city\": \"Уфа\"}")
    async with turn(state_store) as first:
        assert (first.once, first.count, first.state) == (None, 1, "{\"city\": \"Уфа\"}")
    async with turn(state_store, once="dedup:m2") as second:
        assert second.count == 2
    assert 0 < await state_store.ttl("rate:c") <= 60


async def test_locked_turn_reads_the_also_read_keys_in_order(state_store: StateStore):
    await state_store.set("mark:b", "B")
    async with state_store.locked_turn("lock:c", timeout=5, wait=0.5, once_key="dedup:m1", counter_key="rate:c",
                                       window=60, state_key="conv:c", also_read=("mark:a", "mark:b")) as opened:
        assert (opened.count, opened.state, opened.also) == (1, None, (None, "B"))
        opened.set("dedup:m1", "done")
    async with state_store.locked_turn("lock:c", timeout=5, wait=0.5, once_key="dedup:m1", counter_key="rate:c",
                                       window=60, state_key="conv:c", also_read=("mark:a", "mark:b")) as again:
        assert (again.once, again.also) == ("done", ())  # a re-delivery reads nothing more
    async with turn(state_store, once=None) as plain:
        assert plain.also == ()
    async with state_store.locked_turn("lock:c", timeout=5, wait=0.5, once_key=None, counter_key="rate:c",
                                       window=60, state_key="conv:c", also_read=("mark:b", "mark:a")) as no_id:
        assert no_id.also == ("B", None)  # a message without an id reads them too


async def test_locked_turn_of_an_unknown_conversation_reads_none(state_store: StateStore):
    async with turn(state_store, once=None) as opened:
        assert (opened.once, opened.count, opened.state) == (None, 1, None)


async def test_locked_turn_writes_at_the_end_with_their_ttl(state_store: StateStore):
    async with turn(state_store) as opened:
        opened.set("conv:c", "new state", ttl=30)
        opened.set("dedup:m1", "stored result", ttl=0.3)
        opened.set("plain", "no expiry")
        assert await state_store.get("conv:c") is None  # not before the turn ends
    assert await state_store.get("conv:c") == "new state"
    assert 0 < await state_store.ttl("conv:c") <= 30
    assert await state_store.ttl("plain") is None
    await asyncio.sleep(0.45)
    assert await state_store.get("dedup:m1") is None


async def test_locked_turn_finds_a_handled_message_and_does_not_count_it(state_store: StateStore):
    await state_store.set("conv:c", "state")
    async with turn(state_store) as opened:
        opened.set("dedup:m1", "stored result", ttl=60)
    async with turn(state_store) as again:
        assert (again.once, again.count, again.state) == ("stored result", None, None)
    assert await state_store.incr("rate:c", 60) == 2  # the duplicate was not counted


async def test_locked_turn_that_raises_writes_nothing_and_frees_the_lock(state_store: StateStore):
    with pytest.raises(RuntimeError):
        async with turn(state_store) as opened:
            opened.set("conv:c", "half-done")
            raise RuntimeError("skill failed")
    assert await state_store.get("conv:c") is None
    async with turn(state_store, wait=0):
        pass


async def test_locked_turn_rejects_a_non_positive_write_ttl(state_store: StateStore):
    async with turn(state_store) as opened:
        with pytest.raises(ValueError):
            opened.set("conv:c", "x", ttl=0)


async def test_locked_turns_of_one_conversation_run_one_after_another(state_store: StateStore):
    inside = 0
    most = 0

    async def one(n: int) -> None:
        nonlocal inside, most
        async with turn(state_store, once=f"dedup:{n}", wait=5) as opened:
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            opened.set("conv:c", str(opened.count))
            inside -= 1

    await asyncio.gather(*(one(n) for n in range(5)))
    assert most == 1
    assert await state_store.get("conv:c") == "5"


async def test_locked_turn_and_lock_exclude_each_other(state_store: StateStore):
    async with state_store.lock("lock:c", timeout=5, wait=0.2):
        with pytest.raises(LockTimeout):
            async with turn(state_store, wait=0.2):
                pytest.fail("a turn ran while the lock was held")
    async with turn(state_store):
        with pytest.raises(LockTimeout):
            async with state_store.lock("lock:c", timeout=5, wait=0.2):
                pytest.fail("the lock was taken during a turn")


async def test_locked_turn_waits_for_the_holder(state_store: StateStore):
    async def hold() -> None:
        async with turn(state_store, once="dedup:a"):
            await asyncio.sleep(0.2)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    async with turn(state_store, once="dedup:b", wait=3) as second:
        assert time.monotonic() - started >= 0.1
        assert second.count == 2
    await holder


async def test_locked_turn_of_a_dead_holder_frees_itself(state_store: StateStore):
    abandoned = turn(state_store, once="dedup:a", timeout=0.3)
    await abandoned.__aenter__()
    started = time.monotonic()
    async with turn(state_store, once="dedup:b", wait=3) as late:
        assert 0.15 <= time.monotonic() - started < 2
        late.set("conv:c", "from the new holder")
        # The late holder leaving must not free the lock the new holder has.
        await abandoned.__aexit__(None, None, None)
        with pytest.raises(LockTimeout):
            async with state_store.lock("lock:c", timeout=5, wait=0.2):
                pass
    assert await state_store.get("conv:c") == "from the new holder"


async def test_locked_turn_is_released_when_the_holder_is_cancelled(state_store: StateStore):
    entered = asyncio.Event()

    async def hold() -> None:
        async with turn(state_store) as opened:
            opened.set("conv:c", "never")
            entered.set()
            await asyncio.sleep(10)

    holder = asyncio.create_task(hold())
    await entered.wait()
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    async with turn(state_store, wait=0.5):
        pass
    assert await state_store.get("conv:c") is None


# -- live events ---------------------------------------------------------------------------------


async def _next(messages, timeout: float = 2.0) -> str:
    return await asyncio.wait_for(anext(messages), timeout)


async def test_pubsub_delivers_in_order_to_every_subscriber_of_the_topic(state_store: StateStore):
    async with state_store.subscribe("handoff:1") as first, state_store.subscribe("handoff:1") as second:
        for n in range(5):
            await state_store.publish("handoff:1", f"event {n}")
        for messages in (first, second):
            assert [await _next(messages) for _ in range(5)] == [f"event {n}" for n in range(5)]


async def test_pubsub_delivers_only_the_subscribed_topic(state_store: StateStore):
    async with state_store.subscribe("topic:a") as a_messages, state_store.subscribe("topic:b") as b_messages:
        await state_store.publish("topic:a", "for a")
        await state_store.publish("topic:b", "for b")
        assert await _next(a_messages) == "for a"
        assert await _next(b_messages) == "for b"
        await state_store.publish("topic:a", "again for a")
        assert await _next(a_messages) == "again for a"


async def test_pubsub_skips_what_was_published_before_subscribing(state_store: StateStore):
    await state_store.publish("news", "too early")
    async with state_store.subscribe("news") as messages:
        await state_store.publish("news", "on time")
        assert await _next(messages) == "on time"


async def test_pubsub_keeps_unicode(state_store: StateStore):
    async with state_store.subscribe("chat") as messages:
        await state_store.publish("chat", "Оператор Анна подключилась к диалогу")
        assert await _next(messages) == "Оператор Анна подключилась к диалогу"


async def test_publish_without_subscribers_is_fine(state_store: StateStore):
    await state_store.publish("nobody-listens", "hello")


async def test_subscriber_stops_receiving_after_leaving(state_store: StateStore):
    async with state_store.subscribe("t") as messages:
        await state_store.publish("t", "one")
        assert await _next(messages) == "one"
    await state_store.publish("t", "two")
    async with state_store.subscribe("t") as messages:
        await state_store.publish("t", "three")
        assert await _next(messages) == "three"


async def test_slow_subscriber_does_not_block_publishers(state_store: StateStore):
    total = 3000  # more than any subscriber backlog holds
    async with state_store.subscribe("firehose") as messages:
        # Nobody reads while publishing: publishing must still finish promptly.
        await asyncio.wait_for(
            asyncio.gather(*(state_store.publish("firehose", str(n)) for n in range(total))), 10
        )
        received: list[int] = []
        while not received or received[-1] != total - 1:
            received.append(int(await _next(messages)))
    assert received == sorted(received), "events arrived out of order"
    assert len(set(received)) == len(received), "an event arrived twice"


# -- lifecycle -------------------------------------------------------------------------------------


async def test_ping(state_store: StateStore):
    assert await state_store.ping() is True


async def test_close_ends_open_subscriptions(state_store: StateStore):
    got: list[str] = []
    subscribed = asyncio.Event()

    async def listen() -> None:
        async with state_store.subscribe("t") as messages:
            subscribed.set()
            async for message in messages:
                got.append(message)

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), 2)
    await state_store.publish("t", "last words")
    async def until_received() -> None:
        while not got:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(until_received(), 2)
    await state_store.close()
    await asyncio.wait_for(listener, 2)  # finished, without an error
    assert got == ["last words"]
    await state_store.close()  # closing twice is fine (the fixture closes again)


async def test_the_gate_stores_a_result_each_store_reads_back_whole(state_store):
    """Compressed where the store asks for it (Redis), plain in-process: the same result."""
    from dialogs.gate import TurnGate
    from dialogs.messages import Button, Inbound, Reply, TurnResult

    gate = TurnGate(state_store, dedup_ttl_seconds=60, lock_timeout_seconds=5, lock_wait_seconds=5, messages_per_minute=30)
    inbound = Inbound(channel="webchat", user_id="c1", message_id="m1", text="как оплатить")
    result = TurnResult(replies=[Reply("Оплатить можно картой. " * 20, buttons=(Button("Офисы", "/offices"),))])
    await gate.remember(inbound, result)
    stored = await state_store.get(TurnGate.dedup_key(inbound))
    assert stored.startswith("z:") is state_store.compress_large_values
    again = await gate.answered_before(inbound)
    assert again.replies == result.replies and again.duplicate


async def test_locked_turn_is_refused_while_its_refusing_key_is_set(state_store: StateStore):
    from dialogs.state.base import TurnRefused

    def refusable(once: str | None = "dedup:m1"):
        return state_store.locked_turn("lock:c", timeout=5, wait=0.2, once_key=once, counter_key="rate:c", window=60,
                                       state_key="conv:c", also_read=("mark:a",), refuse_if="ended:s")

    async with refusable() as opened:  # not set: an ordinary turn, the other keys in their places
        assert (opened.count, opened.also) == (1, (None,))
        opened.set("dedup:m1", "stored replies")
    await state_store.set("ended:s", "1")
    for once in ("dedup:m1", "dedup:m2", None):  # a stored result is not replayed either
        with pytest.raises(TurnRefused):
            async with refusable(once):
                pytest.fail("a refused turn must not begin")
    assert await state_store.get("rate:c") == "1"  # refused turns are not counted
    async with turn(state_store, once=None) as other:  # and they left no lock behind
        assert other.count == 2
    await state_store.delete("ended:s")
    async with refusable() as again:
        assert again.once == "stored replies"
