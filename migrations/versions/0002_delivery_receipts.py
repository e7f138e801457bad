"""Delivery receipts reported by messengers (delivered / read / failed).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=20), nullable=True),
        sa.Column("error_message", sa.String(length=300), nullable=True),
        sa.Column("conversation_key", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_receipts")),
    )
    op.create_index(
        "uq_delivery_receipt_message", "delivery_receipts", ["channel", "provider_message_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_delivery_receipt_message", table_name="delivery_receipts")
    op.drop_table("delivery_receipts")
