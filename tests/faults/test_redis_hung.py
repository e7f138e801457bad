"""A Redis that hangs (stopped, not gone: no reset, no refusal) costs each state
operation its deadline, then a ``TimeoutError`` — the app's 503 / apology path — and
everything works again once it answers. redis-py's own socket timeouts are off (the
store bounds each operation instead), so this is the test that a hang stays bounded."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from dialogs.state.redis import RedisStateStore


async def test_every_kind_of_operation_gives_up_at_its_deadline_and_recovers(private_redis):
    store = RedisStateStore.from_url(private_redis.url, prefix="hung:", command_timeout=0.5)
    try:
        await store.set("a", "1")
        os.kill(private_redis.process.pid, signal.SIGSTOP)
        try:
            operations = {
                "get": lambda: store.get("a"),
                "set": lambda: store.set("a", "2", ttl=10),
                "incr": lambda: store.incr("n", 60),
                "publish": lambda: store.publish("t", "x"),
                "turn": lambda: _turn(store),
                "lock": lambda: _lock(store),
            }
            for name, operation in operations.items():
                started = time.monotonic()
                with pytest.raises(TimeoutError):
                    await operation()
                assert time.monotonic() - started < 3, name  # its deadline, not forever
        finally:
            os.kill(private_redis.process.pid, signal.SIGCONT)
        assert await store.get("a") == "1"
        async with store.locked_turn("conv", timeout=5, wait=1, once_key="m1", counter_key="rate", window=60,
                                     state_key="state") as turn:
            assert turn.count is not None
            turn.set("state", "{}", ttl=60)
        assert await store.get("state") == "{}"
    finally:
        await store.close()


async def _turn(store: RedisStateStore) -> None:
    async with store.locked_turn("conv", timeout=5, wait=1, once_key=None, counter_key="rate", window=60,
                                 state_key="state"):
        pass


async def _lock(store: RedisStateStore) -> None:
    async with store.lock("other", timeout=5, wait=0.2):
        pass
