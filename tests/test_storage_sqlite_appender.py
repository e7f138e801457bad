"""The SQLite appender: whole transactions in its own thread and connection, beside
the async engine's connection to the same file."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, func, insert, select, text

from dispatcher.models import TranscriptMessage
from dispatcher.transcript import BufferedTranscript, Transcript, TranscriptLine
from storage import make_engine, make_sessionmaker
from migrations.runner import upgrade
from storage.sqlite_appender import SqliteAppender, sqlite_file_url

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=timezone.utc)
TABLE = TranscriptMessage.__table__


def _row(key: str, text_: str) -> dict:
    return {"conversation_key": key, "direction": "in", "text": text_, "created_at": NOW}


@pytest.fixture
async def sqlite_file(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'appender.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    yield url, engine
    await engine.dispose()


def test_only_sqlite_files_have_an_appender():
    assert str(sqlite_file_url("sqlite+aiosqlite:////var/lib/isp/isp.db")) == "sqlite+pysqlite:////var/lib/isp/isp.db"
    assert sqlite_file_url("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file_url("sqlite+aiosqlite://") is None
    assert sqlite_file_url("sqlite+aiosqlite:///file:x?mode=memory&uri=true") is None
    assert sqlite_file_url("postgresql+asyncpg://u@h/db") is None
    with pytest.raises(ValueError):
        SqliteAppender("postgresql+asyncpg://u@h/db")


async def _count(engine, key: str) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(select(func.count()).where(TABLE.c.conversation_key == key))


async def test_a_transaction_commits_when_it_returns_and_rolls_back_when_it_raises(sqlite_file):
    url, engine = sqlite_file
    appender = SqliteAppender(url)
    try:
        assert await appender.transaction(lambda c: c.execute(insert(TABLE), [_row("a", "1"), _row("a", "2")]).rowcount) == 2
        assert await _count(engine, "a") == 2  # the async engine's connection sees it at once

        def half_then_fail(connection):
            connection.execute(insert(TABLE), [_row("b", "1")])
            raise RuntimeError("mid-transaction")

        with pytest.raises(RuntimeError, match="mid-transaction"):
            await appender.transaction(half_then_fail)
        assert await _count(engine, "b") == 0
        # The connection is usable after the failure.
        await appender.transaction(lambda c: c.execute(insert(TABLE), [_row("b", "after")]))
        assert await _count(engine, "b") == 1
    finally:
        await appender.aclose()


async def test_the_async_engine_writes_while_appends_go_on(sqlite_file):
    """Two writers on one file: neither fails, nothing is lost (WAL and the busy
    handler; appends are short)."""
    url, engine = sqlite_file
    appender = SqliteAppender(url)

    async def appends():
        for i in range(50):
            await appender.transaction(lambda c, i=i: c.execute(insert(TABLE), [_row("app", str(i))] * 20))

    async def engine_writes():
        for i in range(50):
            async with engine.begin() as connection:
                await connection.execute(insert(TABLE), [_row("eng", str(i))])
            await asyncio.sleep(0)

    try:
        await asyncio.gather(appends(), engine_writes())
        assert await _count(engine, "app") == 1000
        assert await _count(engine, "eng") == 50
    finally:
        await appender.aclose()


async def test_the_transcript_on_a_sqlite_file_writes_through_the_appender_only(sqlite_file):
    url, engine = sqlite_file
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    buffered = BufferedTranscript(Transcript.for_database(make_sessionmaker(engine), url))
    await asyncio.gather(
        *(buffered.record_many(f"c{i}", [TranscriptLine("in", "вопрос"), TranscriptLine("bot", "ответ")], now=NOW, turn=f"m{i}") for i in range(20))
    )
    assert not [s for s in statements if "transcript_messages" in s], "the async engine wrote transcript lines"
    assert [e.text for e in await buffered.history("c7")] == ["вопрос", "ответ"]
    await buffered.close()
    # After close a late line still lands (through the async engine).
    await buffered.record_many("late", [TranscriptLine("bot", "поздно")], now=NOW)
    assert await _count(engine, "late") == 1


async def test_the_appender_uses_wal_like_the_async_engine(sqlite_file):
    url, _engine = sqlite_file
    appender = SqliteAppender(url)
    try:
        assert (await appender.transaction(lambda c: c.execute(text("PRAGMA journal_mode")).scalar())).lower() == "wal"
        assert await appender.transaction(lambda c: c.execute(text("PRAGMA synchronous")).scalar()) == 1  # NORMAL
    finally:
        await appender.aclose()
