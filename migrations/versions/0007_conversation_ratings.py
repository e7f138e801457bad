"""Subscribers' ratings of finished conversations with agents (web chat widget).

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("conversation_key", sa.String(length=200), nullable=False),
        sa.Column("agent_login", sa.String(length=100), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_ratings")),
        sa.UniqueConstraint("handoff_id", name=op.f("uq_conversation_ratings_handoff_id")),
    )
    op.create_index(
        op.f("ix_conversation_ratings_conversation_key"), "conversation_ratings", ["conversation_key"], unique=False
    )
    op.create_index(op.f("ix_conversation_ratings_created_at"), "conversation_ratings", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_conversation_ratings_created_at"), table_name="conversation_ratings")
    op.drop_index(op.f("ix_conversation_ratings_conversation_key"), table_name="conversation_ratings")
    op.drop_table("conversation_ratings")
