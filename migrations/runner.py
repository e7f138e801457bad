"""Bring a database to the newest schema.

PLACEHOLDER until the Alembic history lands: creates the tables from metadata.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from migrations.metadata import target_metadata


async def upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(target_metadata.create_all)
