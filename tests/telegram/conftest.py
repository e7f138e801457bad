"""Fixtures of the Telegram tests: the Bot API double and the app wired to it
(helpers in tests/telegram/harness.py)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import AsyncIterator

import pytest

from storage import make_engine
from migrations.runner import upgrade
from tests.doubles.telegram_bot_api import FakeTelegramBotApi
from tests.telegram.harness import TelegramHarness, telegram_app, telegram_settings


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeTelegramBotApi]:
    async with FakeTelegramBotApi() as api:
        yield api


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory) -> Path:
    """One migrated SQLite database per run; tests get a copy (migrating costs ~0.5 s)."""
    path = tmp_path_factory.mktemp("telegram-template") / "migrated.db"

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
    copy = tmp_path / "telegram.db"
    shutil.copyfile(migrated_sqlite_file, copy)
    return f"sqlite+aiosqlite:///{copy}"


@pytest.fixture
async def tg(sqlite_url, bot_api, tmp_path) -> AsyncIterator[TelegramHarness]:
    """The app on SQLite with in-process state (adapter behaviour does not depend on
    the database; the journeys run on both databases, see test_telegram_journeys)."""
    async with telegram_app(telegram_settings(sqlite_url, bot_api, tmp_path), bot_api) as harness:
        yield harness
