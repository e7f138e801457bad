"""Shared fixtures: both databases and both state backends.

PostgreSQL and Redis tests run against TEST_DATABASE_URL / TEST_REDIS_URL (defaults:
the local services). Where a service is unreachable, a plain run skips those tests
with the reason; with CI=true or ISP_REQUIRE_SERVICES=1 it fails instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from contextlib import asynccontextmanager

import pytest

from storage import make_engine, make_sessionmaker
from migrations.runner import upgrade

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SERVICES_REQUIRED = os.environ.get("CI", "").lower() == "true" or os.environ.get("ISP_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps its own event loop running in
    the main thread while its session fixtures live, which async tests can't share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def _service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({type(error).__name__}: {error})"
    if SERVICES_REQUIRED:
        pytest.fail(message + " — required in CI", pytrace=False)
    pytest.skip(message + "; set TEST_DATABASE_URL / TEST_REDIS_URL or start it")


async def _pg_reachable() -> Exception | None:
    import asyncpg

    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), 5)
        await conn.close()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return error
    return None


async def _redis_reachable() -> Exception | None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as error:  # noqa: BLE001
        return error
    finally:
        await client.aclose()
    return None


@asynccontextmanager
async def provision_database(kind: str, tmp_path):
    """A migrated, empty database of ``kind`` ("sqlite" | "postgres"); yields its URL.

    PostgreSQL isolation: every test gets its own schema (search_path), dropped after.
    """
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url
        return

    error = await _pg_reachable()
    if error:
        _service_missing("PostgreSQL", error)
    import asyncpg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.close()
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def require_redis() -> str:
    """The test Redis URL, or skip/fail when Redis is down. Callers isolate their keys
    with a random prefix (no flush, so parallel runs don't wipe each other)."""
    error = await _redis_reachable()
    if error:
        _service_missing("Redis", error)
    return REDIS_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path):
    """A migrated, empty database of each kind; yields its SQLAlchemy URL."""
    async with provision_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def db_engine(database_url):
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def db_sessions(db_engine):
    return make_sessionmaker(db_engine)


@pytest.fixture
async def redis_url(monkeypatch):
    """The test Redis URL. Settings built in the test get a random REDIS_PREFIX (from
    the environment, as in production), so tests and parallel runs never share keys
    and nothing needs flushing."""
    url = await require_redis()
    monkeypatch.setenv("REDIS_PREFIX", f"test:{uuid.uuid4().hex[:10]}:")
    yield url


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def state_store(request):
    """Each StateStore implementation, fresh."""
    if request.param == "memory":
        from dialogs.state.memory import MemoryStateStore

        store = MemoryStateStore()
    else:
        from dialogs.state.redis import RedisStateStore

        await require_redis()
        store = RedisStateStore.from_url(REDIS_URL, prefix=f"test:{uuid.uuid4().hex[:8]}:")
    yield store
    await store.close()


@pytest.fixture(autouse=True)
def quiet_aiosqlite():
    """As the product's logging set-up does (app/cli.py): aiosqlite at DEBUG logs every
    SQL parameter — an inbox row carries the subscriber's text (a password, too), and
    the tests that set caplog to DEBUG check that no password reaches the log."""
    logger = logging.getLogger("aiosqlite")
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(previous)
