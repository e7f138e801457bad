"""Claiming rows of the durable inbox and outbox for one worker.

A claim is one conditional UPDATE that marks the chosen rows with a random token; only
the holder of the token may finish them. On PostgreSQL the candidates are locked with
``FOR UPDATE SKIP LOCKED`` (workers of many processes never wait on each other); on
SQLite, which has one writer at a time, the conditional UPDATE is atomic by itself.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inserts import is_postgres


async def claim_rows(
    session: AsyncSession,
    model: Any,
    candidates: Select,
    claimable: ColumnElement[bool],
    *,
    status: str,
    now: datetime,
) -> tuple[str, list[Any]]:
    """Move the rows ``candidates`` selects (ids) that are still ``claimable`` to
    ``status``, counting an attempt; the claim token and the claimed rows, by id."""
    token = secrets.token_hex(16)
    if is_postgres(session):
        candidates = candidates.with_for_update(skip_locked=True, of=model)
    await session.execute(
        update(model)
        .where(model.id.in_(candidates.scalar_subquery()), claimable)
        .values(status=status, claimed_at=now, claim_token=token, attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.scalars(select(model).where(model.claim_token == token).order_by(model.id))).all()
    return token, list(rows)
