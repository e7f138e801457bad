"""Bulk appends to a SQLite file in one thread hop per transaction.

Through SQLAlchemy's aiosqlite adapter every DB-API call is a round trip to
aiosqlite's thread (a queue put, a thread wake-up, a ``call_soon_threadsafe`` back):
about 16 of them for one transcript batch — check out, cursor, execute and close per
statement, commit, the pool's reset. On SQLite those hops, not SQLite itself, were
most of the transcript's cost (README, Benchmarks). ``SqliteAppender`` runs a whole
transaction as one synchronous SQLAlchemy Core function on its own ``pysqlite``
connection in its own thread: one hop per batch, and the same types, bind formats
and exceptions as the async engine (it is SQLAlchemy on the same dialect).

It is a second connection to the database file, so it is a second writer: WAL lets
readers go on meanwhile, and the rare write of the async engine's connection that
meets an append in progress waits for it in SQLite's busy handler (an append takes
about a millisecond). For file databases only — an in-memory database is private to
its connection.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from sqlalchemy import URL, Connection, create_engine, event, make_url
from sqlalchemy.pool import QueuePool

from storage.engine import _sqlite_wal

T = TypeVar("T")


def sqlite_file_url(url: str | URL) -> URL | None:
    """The synchronous (pysqlite) URL of a SQLite *file* database, else None."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("mode") == "memory":
        return None
    return url.set(drivername="sqlite+pysqlite")


class SqliteAppender:
    def __init__(self, url: str | URL, *, busy_timeout_seconds: float = 30.0) -> None:
        sync_url = sqlite_file_url(url)
        if sync_url is None:
            raise ValueError("SqliteAppender needs a SQLite file database")
        # One connection, used only by the one thread below (check_same_thread is
        # pysqlite's guard against exactly what we do not do).
        self._engine = create_engine(
            sync_url,
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=0,
            connect_args={"timeout": busy_timeout_seconds},
        )
        event.listen(self._engine, "connect", _sqlite_wal)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-appender")

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in one transaction in the appender's thread:
        committed when it returns, rolled back when it raises (the error is raised here)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, work)

    def _run(self, work: Callable[[Connection], T]) -> T:
        with self._engine.begin() as connection:
            return work(connection)

    async def aclose(self) -> None:
        """After the last transaction (the transcript closes first)."""
        await asyncio.get_running_loop().run_in_executor(None, self._close)

    def _close(self) -> None:
        self._thread.submit(self._engine.dispose)  # closed by the thread that used it
        self._thread.shutdown(wait=True)
