"""Fixtures of the web chat tests (helpers in helpers.py)."""

from __future__ import annotations

import pytest

from .helpers import EchoEngine, make_settings, running_app


@pytest.fixture
def echo_engine() -> EchoEngine:
    return EchoEngine()


@pytest.fixture
async def sqlite_url(tmp_path):
    """A fresh SQLite file database, for adapter tests where the database kind does not matter."""
    return f"sqlite+aiosqlite:///{tmp_path / 'webchat.db'}"


@pytest.fixture
async def client(sqlite_url, tmp_path, echo_engine):
    async with running_app(make_settings(sqlite_url, tmp_path), engine=echo_engine) as (_, client):
        yield client


@pytest.fixture
async def session(client) -> dict:
    response = await client.post("/api/webchat/sessions")
    assert response.status_code == 201
    return response.json()
