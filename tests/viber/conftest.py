"""Fixtures of the Viber tests: the Viber API double and the app wired to it."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from tests.doubles.viber_api import FakeViberApi


@pytest.fixture
async def viber_api() -> AsyncIterator[FakeViberApi]:
    async with FakeViberApi() as api:
        yield api


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory):
    """One migrated SQLite database per run; tests get a copy (migrating costs ~0.5 s)."""
    import asyncio

    from migrations.runner import upgrade
    from storage import make_engine

    path = tmp_path_factory.mktemp("viber-template") / "migrated.db"

    async def migrate() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
def sqlite_url(migrated_sqlite_file, tmp_path) -> str:
    import shutil

    copy = tmp_path / "viber.db"
    shutil.copyfile(migrated_sqlite_file, copy)
    return f"sqlite+aiosqlite:///{copy}"
