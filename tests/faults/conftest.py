"""Fault suite fixtures: real server processes and a private Redis (see servers.py)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import SERVICES_REQUIRED, provision_database

from .servers import PrivateRedis


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fault_database_url(request, tmp_path):
    """A migrated database each kind: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'faults.db'}"
        return
    async with provision_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (the Redis fault test starts its own)"
        if SERVICES_REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
