"""Writes that differ by database: SQLite (the default) and PostgreSQL (production).
Imports none of ours."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def is_postgres(session: AsyncSession) -> bool:
    """True on PostgreSQL (row locks such as ``FOR UPDATE SKIP LOCKED`` apply there)."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def insert_if_new(session: AsyncSession, model: Any, values: dict[str, Any], unique: list[str]) -> bool:
    """``INSERT … ON CONFLICT (unique) DO NOTHING``: False when a row with the same
    unique columns exists (a retry of something recorded before)."""
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    result = await session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=unique))
    return result.rowcount == 1
