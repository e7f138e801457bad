"""The StateStore (Redis) away for one call: the real store of a running app, whose
next write of a key with a given prefix fails the way redis-py fails when the server
has gone (the rest works as before). For channels' "acknowledged, then the handling
failed" paths, which the combined fault run found around a Redis outage."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError


def away_once(store, method: str, key_prefix: str) -> list[str]:
    """Make ``store.<method>`` raise once for a key starting with ``key_prefix``; the
    returned list gets the key when that happened."""
    working = getattr(store, method)
    failed: list[str] = []

    async def once(key, *args, **kwargs):
        if key.startswith(key_prefix) and not failed:
            failed.append(key)
            raise RedisConnectionError("Connection closed by server.")
        return await working(key, *args, **kwargs)

    setattr(store, method, once)
    return failed


async def after_the_failure(failed: list[str], inbox, channel: str, *, timeout: float = 10.0) -> dict[str, int]:
    """Wait until the failing call happened and no update of ``channel`` is in progress
    (the app's inbox worker may hold it); the inbox's counts then."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        counts = await inbox.counts(channel)
        if (failed and not counts.get("processing")) or loop.time() > deadline:
            return counts
        await asyncio.sleep(0.02)
