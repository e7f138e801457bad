"""Transcript lines know the turn that wrote them, so a turn processed again (its
process died after the lines were committed, before the turn was marked handled) does
not record its lines twice: the retry's lines replace the first attempt's.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("transcript_messages", sa.Column("turn_key", sa.String(length=32), nullable=True))
    op.create_index("ix_transcript_turn", "transcript_messages", ["turn_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_transcript_turn", table_name="transcript_messages")
    with op.batch_alter_table("transcript_messages") as batch:
        batch.drop_column("turn_key")
