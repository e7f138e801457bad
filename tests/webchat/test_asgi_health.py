"""GET /readyz against the real database and state store of each kind; /healthz is liveness."""

from __future__ import annotations

import socket

import pytest

from app.container import build_container
from storage import make_engine

from .helpers import make_settings, running_app


def closed_port() -> int:
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_healthy_with_each_database(database_url, tmp_path):
    async with running_app(make_settings(database_url, tmp_path)) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "state": "ok"}


@pytest.mark.redis
async def test_healthy_with_redis(sqlite_url, tmp_path, redis_url):
    async with running_app(make_settings(sqlite_url, tmp_path, redis_url=redis_url)) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["state"] == "ok"


async def test_unreachable_redis_is_503_naming_the_state_store(sqlite_url, tmp_path):
    settings = make_settings(sqlite_url, tmp_path, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    async with running_app(settings) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "state": "failed"}


async def test_unreachable_database_is_503_naming_the_database(sqlite_url, tmp_path):
    async def factory(settings):
        container = await build_container(settings)
        await container.db_engine.dispose()
        # The database goes away after startup (PostgreSQL on a port nobody listens on).
        container.db_engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/test")
        return container

    async with running_app(make_settings(sqlite_url, tmp_path), factory=factory) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "failed", "state": "ok"}


async def test_liveness_does_not_depend_on_redis_or_the_database(sqlite_url, tmp_path):
    settings = make_settings(sqlite_url, tmp_path, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    async with running_app(settings) as (_, client):
        alive, ready = await client.get("/healthz"), await client.get("/readyz")
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert ready.status_code == 503
