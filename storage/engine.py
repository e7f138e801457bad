"""The async engine and session factory for SQLite (the default) and PostgreSQL."""

from __future__ import annotations

import shlex

from sqlalchemy import URL, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def libpq_options_to_server_settings(options: str) -> dict[str, str]:
    """``-csearch_path=a -c statement_timeout=5000`` → ``{"search_path": "a", ...}``.

    libpq drivers understand the ``options`` URL parameter; asyncpg does not (it
    wants ``server_settings``), so make_engine translates it.
    """
    settings: dict[str, str] = {}
    tokens = shlex.split(options)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "-c" and i + 1 < len(tokens):
            i += 1
            pair = tokens[i]
        elif token.startswith("-c"):
            pair = token[2:]
        elif token.startswith("--"):
            pair = token[2:]
        else:
            raise ValueError(f"unsupported PostgreSQL option {token!r} in the database URL")
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"bad PostgreSQL option {pair!r} in the database URL")
        settings[name.replace("-", "_")] = value
        i += 1
    return settings


def _translate_asyncpg_options(url: URL, kwargs: dict) -> URL:
    options = url.query.get("options")
    if url.get_driver_name() != "asyncpg" or options is None:
        return url
    if isinstance(options, tuple):
        options = " ".join(options)
    connect_args = dict(kwargs.get("connect_args") or {})
    server_settings = dict(connect_args.get("server_settings") or {})
    server_settings.update(libpq_options_to_server_settings(options))
    connect_args["server_settings"] = server_settings
    kwargs["connect_args"] = connect_args
    return url.difference_update_query(["options"])


def make_engine(url: str | URL, **kwargs) -> AsyncEngine:
    """An async engine for ``url``.

    PostgreSQL URLs may carry libpq-style ``options=-csearch_path=<schema>`` (tests
    isolate by schema that way); for asyncpg they become ``server_settings``.
    """
    url = _translate_asyncpg_options(make_url(url), kwargs)
    if url.get_backend_name() == "sqlite":
        # One writer at a time is SQLite's rule. Several connections of one process
        # would queue for it in SQLite's busy handler, which sleeps in steps of up to
        # 100 ms; one connection (one aiosqlite thread) serialises statements with no
        # sleeping at all. The timeout still covers other processes (the CLI).
        kwargs.setdefault("connect_args", {"timeout": 30})
        in_memory = url.database in (None, "", ":memory:")
        if not in_memory:
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, **kwargs)
        if not in_memory:
            event.listen(engine.sync_engine, "connect", _sqlite_wal)
        return engine
    # Enough connections for the turns one process serves at once (each turn holds
    # one briefly); opening connections under load costs more than keeping them.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 30)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _sqlite_wal(dbapi_connection, _record) -> None:
    """WAL: readers never wait for the writer, and a commit appends to the log
    instead of rewriting pages; synchronous=NORMAL is durable across process crashes
    (only an OS crash may lose the last commits) without an fsync per commit."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def engine_of(sessions: async_sessionmaker) -> AsyncEngine:
    """The engine a sessionmaker is bound to. Reads on a dialog turn's path run on it
    through SQLAlchemy Core: a pooled connection and plain rows, without a Session,
    its identity map and ORM object loading (about half of such a read's cost)."""
    return sessions.kw["bind"]
