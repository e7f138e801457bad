"""Fixtures of the web chat tests (helpers in helpers.py)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from storage import make_engine
from migrations.runner import upgrade

from .helpers import EchoEngine, make_settings, running_app


@pytest.fixture
def echo_engine() -> EchoEngine:
    return EchoEngine()


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory) -> Path:
    """One migrated SQLite database, copied by each test (migrating takes ~10x longer)."""
    path = tmp_path_factory.mktemp("template") / "webchat.db"

    async def migrate() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
def sqlite_url(tmp_path, migrated_sqlite_file) -> str:
    """A fresh, migrated SQLite file database, for adapter tests where the database kind
    does not matter (the ``database_url`` fixture covers both kinds)."""
    path = tmp_path / "webchat.db"
    shutil.copyfile(migrated_sqlite_file, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def client(sqlite_url, tmp_path, echo_engine):
    async with running_app(make_settings(sqlite_url, tmp_path), engine=echo_engine) as (_, client):
        yield client


@pytest.fixture
async def session(client) -> dict:
    response = await client.post("/api/webchat/sessions")
    assert response.status_code == 201
    return response.json()
