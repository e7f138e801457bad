"""ScriptPipeline: the turn scripts' calls of one pass of the loop share a round trip,
and each caller still gets its own reply or error (against the real Redis)."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from dialogs.state._autopipeline import ScriptPipeline
from dialogs.state.redis import RedisStateStore

pytestmark = pytest.mark.redis

ECHO = "return {KEYS[1], ARGV[1]}"
FAILS_ON_BAD = "if ARGV[1] == 'bad' then return redis.error_reply('refused') end return ARGV[1]"


@pytest.fixture
def client(raw):
    """The client the pipelines go through: the plain one."""
    return raw


async def test_calls_of_one_pass_go_as_one_pipeline_with_their_own_replies(client):
    scripts = ScriptPipeline(client)
    echo = client.register_script(ECHO)
    await echo(keys=["k"], args=["load"])  # loaded, as a store's first call would do
    pipelines = []
    original = client.pipeline

    def counting_pipeline(*args, **kwargs):
        pipelines.append(1)
        return original(*args, **kwargs)

    client.pipeline = counting_pipeline
    replies = await asyncio.gather(*(scripts.call(echo, [f"k{i}"], [str(i)]) for i in range(30)))
    assert replies == [[f"k{i}", str(i)] for i in range(30)]
    assert len(pipelines) == 1


async def test_a_busy_pass_is_cut_into_pipelines_of_at_most_max_calls(client):
    scripts = ScriptPipeline(client, max_calls=8)
    echo = client.register_script(ECHO)
    await echo(keys=["k"], args=["load"])
    sizes = []
    original = client.pipeline

    def recording_pipeline(*args, **kwargs):
        pipe = original(*args, **kwargs)
        execute = pipe.execute

        async def execute_and_record(raise_on_error=True):
            sizes.append(len(pipe.command_stack))
            return await execute(raise_on_error)

        pipe.execute = execute_and_record
        return pipe

    client.pipeline = recording_pipeline
    replies = await asyncio.gather(*(scripts.call(echo, ["k"], [str(i)]) for i in range(20)))
    assert [reply[1] for reply in replies] == [str(i) for i in range(20)]
    assert sorted(sizes) == [4, 8, 8]


async def test_one_calls_error_is_its_own(client):
    scripts = ScriptPipeline(client)
    fails = client.register_script(FAILS_ON_BAD)
    await fails(keys=[], args=["load"])
    good, bad, good_again = await asyncio.gather(
        scripts.call(fails, [], ["a"]), scripts.call(fails, [], ["bad"]), scripts.call(fails, [], ["b"]),
        return_exceptions=True,
    )
    assert (good, good_again) == ("a", "b")
    assert isinstance(bad, ResponseError) and "refused" in str(bad)


async def test_scripts_lost_by_redis_are_loaded_again(client):
    scripts = ScriptPipeline(client)
    echo = client.register_script(ECHO)
    await client.script_flush()  # as after a Redis restart: the server knows no script
    replies = await asyncio.gather(*(scripts.call(echo, ["k"], [str(i)]) for i in range(3)))
    assert replies == [["k", "0"], ["k", "1"], ["k", "2"]]
    assert await client.script_exists(echo.sha) == [True]


async def test_redis_away_fails_every_caller_of_the_pipeline_and_hangs_none():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = aioredis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    try:
        scripts = ScriptPipeline(client)
        echo = client.register_script(ECHO)
        async with asyncio.timeout(10):
            replies = await asyncio.gather(*(scripts.call(echo, ["k"], ["v"]) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(reply, RedisConnectionError) for reply in replies)
    finally:
        await client.aclose()


async def test_a_cancelled_caller_hands_its_reply_to_abandoned(client):
    scripts = ScriptPipeline(client)
    echo = client.register_script(ECHO)
    await echo(keys=["k"], args=["load"])
    handed: list = []
    reply = scripts.call(echo, ["k"], ["v"], abandoned=handed.append)
    reply.cancel()  # the caller stopped waiting before the pipeline went out
    await scripts.drain()
    assert handed == [["k", "v"]]


async def test_a_turn_cancelled_while_it_waits_for_its_start_leaves_the_lock_free(redis_url, prefix):
    store = RedisStateStore.from_url(redis_url, prefix=prefix)
    try:
        entered = asyncio.Event()

        async def turn() -> None:
            async with store.locked_turn(
                "lock:c1", timeout=30, wait=1, once_key=None, counter_key="rate:c1", window=60, state_key="conv:c1"
            ):
                entered.set()

        task = asyncio.ensure_future(turn())
        await asyncio.sleep(0)  # the turn's start is queued, not yet sent
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not entered.is_set()
        await store._scripts.drain()  # its start ran in Redis, then its release
        async with asyncio.timeout(5):
            async with store.locked_turn(
                "lock:c1", timeout=30, wait=0.01, once_key=None, counter_key="rate:c1", window=60, state_key="conv:c1"
            ) as locked:
                assert locked.count == 2  # the cancelled start did run (and counted)
    finally:
        await store.close()


async def test_close_waits_for_the_last_turns_release(redis_url, prefix):
    store = RedisStateStore.from_url(redis_url, prefix=prefix)
    async with store.locked_turn(
        "lock:c1", timeout=30, wait=1, once_key=None, counter_key="rate:c1", window=60, state_key="conv:c1"
    ) as locked:
        locked.set("conv:c1", "state", ttl=60)
    await store.close()
    other = RedisStateStore.from_url(redis_url, prefix=prefix)
    try:
        assert await other.get("conv:c1") == "state"
        async with asyncio.timeout(5):
            async with other.lock("lock:c1", wait=0.01):
                pass
    finally:
        await other.close()
