"""Bring a database to the newest schema: ``alembic upgrade head`` on the
application's own engine (SQLite through aiosqlite, PostgreSQL through asyncpg).

The connection is handed to ``migrations/env.py`` in ``config.attributes`` so the
migration runs with exactly the engine's URL and connect options (for example a
``search_path`` set by ``options=-csearch_path=...``), without re-reading any URL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """An Alembic config for the bundled history, with no alembic.ini needed.

    Pass an open ``connection`` (what ``upgrade`` does), or a ``url`` for Alembic to
    connect itself (e.g. a CLI running ``command.downgrade`` or ``command.current``).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolates "%": URLs with %-escapes (options=-csearch_path%3D...) need it doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_head)
