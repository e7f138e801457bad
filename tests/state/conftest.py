"""Fixtures of the Redis state tests."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:"


@pytest.fixture
async def raw(redis_url):
    """A plain client: another process, or an operator with redis-cli."""
    client = aioredis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()
