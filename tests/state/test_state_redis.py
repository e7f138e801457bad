"""RedisStateStore specifics: key layout, other processes, connections."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis

from dialogs.state import make_state_store
from dialogs.state.redis import RedisStateStore

pytestmark = pytest.mark.redis


@pytest.fixture
async def store(redis_url, prefix):
    store = RedisStateStore.from_url(redis_url, prefix=prefix)
    yield store
    await store.close()


async def test_every_key_carries_the_prefix(store, raw, prefix):
    await store.set("conv:1", "state")
    await store.incr("rate:1", window=5)
    async with store.lock("conv:1"):
        keys = set(await raw.keys(f"{prefix}*"))
    assert keys == {f"{prefix}v:conv:1", f"{prefix}v:rate:1", f"{prefix}lock:conv:1"}


async def test_counter_left_without_expiry_gets_one(store, raw, prefix):
    # E.g. written by an older version, or by hand: it must not count forever.
    await raw.set(f"{prefix}v:rate:1", "41")
    assert await store.incr("rate:1", window=5) == 42
    assert 0 < await raw.pttl(f"{prefix}v:rate:1") <= 5000


async def test_lock_of_a_dead_process_frees_itself(store, raw, prefix):
    await raw.set(f"{prefix}lock:conv:1", "token-of-a-crashed-worker", px=300)
    started = time.monotonic()
    async with store.lock("conv:1", timeout=5, wait=3):
        assert time.monotonic() - started >= 0.2
    assert await raw.exists(f"{prefix}lock:conv:1") == 0


async def test_two_stores_share_locks_and_values(redis_url, store, prefix):
    other = RedisStateStore.from_url(redis_url, prefix=prefix)  # a second process
    try:
        await store.set("k", "from the first")
        assert await other.get("k") == "from the first"
        async with store.lock("conv:1", wait=1):
            with pytest.raises(TimeoutError):
                async with other.lock("conv:1", wait=0.2):
                    pass
        async with other.subscribe("t") as messages:
            await store.publish("t", "hello")
            assert await asyncio.wait_for(anext(messages), 2) == "hello"
    finally:
        await other.close()


async def test_prefixes_isolate_stores(redis_url, store):
    other = RedisStateStore.from_url(redis_url, prefix=f"other:{uuid.uuid4().hex[:8]}:")
    try:
        await store.set("k", "mine")
        assert await other.get("k") is None
        async with other.subscribe("t") as theirs, store.subscribe("t") as mine:
            await store.publish("t", "only mine")
            assert await asyncio.wait_for(anext(mine), 2) == "only mine"
            await other.publish("t", "only theirs")
            assert await asyncio.wait_for(anext(theirs), 2) == "only theirs"
    finally:
        await other.close()


async def test_leaving_a_subscription_unsubscribes_and_frees_its_connection(store, raw, prefix):
    channel = f"{prefix}ch:t"
    async with store.subscribe("t"):
        assert dict(await raw.pubsub_numsub(channel)) == {channel: 1}
    for _ in range(50):  # the server notices the closed connection a moment later
        if dict(await raw.pubsub_numsub(channel)) == {channel: 0}:
            break
        await asyncio.sleep(0.02)
    assert dict(await raw.pubsub_numsub(channel)) == {channel: 0}


async def test_subscriptions_do_not_use_up_command_connections(redis_url, prefix):
    store = RedisStateStore.from_url(redis_url, prefix=prefix, max_connections=2, connection_wait=1)
    try:
        async with store.subscribe("a"), store.subscribe("b"), store.subscribe("c"):
            await asyncio.gather(*(store.set(f"k{n}", "v") for n in range(20)))
            assert await store.get("k19") == "v"
    finally:
        await store.close()


async def test_every_subscription_of_a_process_shares_one_connection(redis_url, raw, prefix):
    """Thousands of open WebSockets must not mean thousands of Redis connections."""
    name = f"state-test-{uuid.uuid4().hex[:8]}"
    client = aioredis.from_url(redis_url, client_name=name)
    store = RedisStateStore(client, prefix=prefix)
    try:
        async with store.subscribe("a") as a1, store.subscribe("a") as a2, store.subscribe("b") as b:
            subscribers = [i for i in await raw.client_list() if i.get("name") == name and i.get("cmd") == "subscribe"]
            assert len(subscribers) == 1
            assert dict(await raw.pubsub_numsub(f"{prefix}ch:a", f"{prefix}ch:b")) == {
                f"{prefix}ch:a": 1,
                f"{prefix}ch:b": 1,
            }
            await store.publish("a", "to both of a")
            await store.publish("b", "to b")
            assert await asyncio.wait_for(anext(a1), 2) == "to both of a"
            assert await asyncio.wait_for(anext(a2), 2) == "to both of a"
            assert await asyncio.wait_for(anext(b), 2) == "to b"
        # the last listener of a channel leaving unsubscribes it
        for _ in range(50):
            if dict(await raw.pubsub_numsub(f"{prefix}ch:a")) == {f"{prefix}ch:a": 0}:
                break
            await asyncio.sleep(0.02)
        assert dict(await raw.pubsub_numsub(f"{prefix}ch:a")) == {f"{prefix}ch:a": 0}
    finally:
        await store.close()
        await client.aclose()


async def test_subscription_survives_a_dropped_connection(redis_url, raw, prefix):
    name = f"state-test-{uuid.uuid4().hex[:8]}"
    client = aioredis.from_url(redis_url, client_name=name)
    store = RedisStateStore(client, prefix=prefix)
    try:
        async with store.subscribe("t") as messages:
            killed = 0
            for info in await raw.client_list():
                if info.get("name") == name and info.get("cmd") == "subscribe":
                    await raw.client_kill_filter(_id=info["id"])
                    killed += 1
            assert killed == 1

            async def probe_until_delivered() -> str:
                # Events published while reconnecting are lost (best-effort), so keep
                # publishing until one arrives.
                while True:
                    await store.publish("t", "after reconnect")
                    try:
                        return await asyncio.wait_for(anext(messages), 0.2)
                    except TimeoutError:
                        pass

            assert await asyncio.wait_for(probe_until_delivered(), 10) == "after reconnect"
    finally:
        await store.close()
        await client.aclose()


async def test_full_inbox_drops_the_oldest_events(redis_url, prefix):
    store = RedisStateStore.from_url(redis_url, prefix=prefix, subscriber_queue_size=3)
    try:
        async with store.subscribe("t") as messages:
            for n in range(10):
                await store.publish("t", str(n))
            for _ in range(100):  # wait until the background reader has seen all ten
                if messages.dropped == 7:
                    break
                await asyncio.sleep(0.02)
            assert [await anext(messages) for _ in range(3)] == ["7", "8", "9"]
    finally:
        await store.close()


async def test_close_leaves_a_callers_client_open(redis_url, prefix):
    client = aioredis.from_url(redis_url)
    store = RedisStateStore(client, prefix=prefix)
    await store.close()
    assert await client.ping() is True
    await client.aclose()


async def test_ping_is_false_when_redis_is_unreachable():
    store = RedisStateStore.from_url("redis://127.0.0.1:1/0", ping_timeout=1)
    try:
        assert await store.ping() is False
    finally:
        await store.close()


async def test_make_state_store_with_url_is_redis(redis_url):
    store = make_state_store(redis_url)
    try:
        assert isinstance(store, RedisStateStore)
        assert await store.ping() is True
    finally:
        await store.close()
