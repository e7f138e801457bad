"""Voluntary blocks («добровольная блокировка») and the billing audit log.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_BLOCK = "status = 'active'"


def upgrade() -> None:
    op.create_table(
        "voluntary_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_voluntary_blocks_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voluntary_blocks")),
    )
    op.create_index(op.f("ix_voluntary_blocks_account_id"), "voluntary_blocks", ["account_id"], unique=False)
    op.create_index(
        "uq_voluntary_block_active",
        "voluntary_blocks",
        ["account_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_BLOCK),
        postgresql_where=sa.text(ACTIVE_BLOCK),
    )
    op.create_table(
        "billing_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_billing_audit_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_audit")),
    )
    op.create_index(op.f("ix_billing_audit_account_id"), "billing_audit", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_billing_audit_account_id"), table_name="billing_audit")
    op.drop_table("billing_audit")
    op.drop_index("uq_voluntary_block_active", table_name="voluntary_blocks")
    op.drop_index(op.f("ix_voluntary_blocks_account_id"), table_name="voluntary_blocks")
    op.drop_table("voluntary_blocks")
