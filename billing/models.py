"""Billing tables: accounts, payments, trust payments, voluntary blocks and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage import Base, UtcDateTime

Money = Numeric(12, 2)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(60))
    tariff: Mapped[str] = mapped_column(String(120))
    monthly_fee: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(10))  # AccountStatus value
    next_charge_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TrustPayment(Base):
    __tablename__ = "trust_payments"
    # The rule "once per calendar month" is this constraint: two concurrent grants
    # for one account and month cannot both commit.
    __table_args__ = (UniqueConstraint("account_id", "period", name="uq_trust_payments_account_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # "YYYY-MM" in the subscriber's local time
    amount: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime)


ACTIVE_BLOCK = "status = 'active'"


class VoluntaryBlockRow(Base):
    __tablename__ = "voluntary_blocks"
    # "One voluntary block at a time" is this index: two concurrent requests for one
    # account cannot both commit an active block.
    __table_args__ = (
        Index(
            "uq_voluntary_block_active",
            "account_id",
            unique=True,
            sqlite_where=text(ACTIVE_BLOCK),
            postgresql_where=text(ACTIVE_BLOCK),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)  # local midnight of the first day
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)  # services return (moved to the lift time if lifted)
    days: Mapped[int] = mapped_column(Integer)
    fee: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(10))  # active → ended | lifted
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BillingAudit(Base):
    """Who changed what on an account through us, written in the change's own transaction."""

    __tablename__ = "billing_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
