"""The billing port: everything the dialogs and the dispatcher may ask of the
provider's billing system. ``billing.sql.SqlBilling`` is the built-in
implementation; a provider plugs in its own by implementing :class:`Billing`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


class AccountStatus(str, enum.Enum):
    ACTIVE = "active"
    BLOCKED = "blocked"  # service suspended for debt
    FROZEN = "frozen"  # voluntarily paused by the subscriber


@dataclass(frozen=True)
class AccountCard:
    """What a verified subscriber may see about their account."""

    number: str
    phone: str  # E.164
    email: str | None
    city: str  # canonical city name (reference/cities.toml)
    tariff: str
    monthly_fee: Decimal
    balance: Decimal
    status: AccountStatus
    next_charge_date: date | None
    trust_payment_until: datetime | None  # an active trust payment ends then (UTC)

    @property
    def debt(self) -> Decimal:
        return -self.balance if self.balance < 0 else Decimal("0")


@dataclass(frozen=True)
class TrustPolicy:
    """Trust payment rules (DESIGN.md): policy settings, not code."""

    days: int = 3
    fee: Decimal = Decimal("0")
    # amount = monthly fee times this multiplier
    amount_multiplier: Decimal = Decimal("1")
    # once per calendar month in the subscriber's local time
    per_calendar_month: int = 1


class TrustOutcome(str, enum.Enum):
    GRANTED = "granted"
    ENOUGH_MONEY = "enough_money"  # balance covers the next charge
    ALREADY_USED = "already_used"  # this calendar month
    FROZEN = "frozen"
    UNKNOWN_ACCOUNT = "unknown_account"


@dataclass(frozen=True)
class TrustResult:
    outcome: TrustOutcome
    amount: Decimal | None = None
    fee: Decimal | None = None
    valid_until: datetime | None = None  # UTC
    # on ALREADY_USED: when it was granted, and the first day it can be taken again
    used_at: datetime | None = None
    available_from: date | None = None


class Billing(Protocol):
    async def find_account(self, number: str) -> AccountCard | None: ...

    async def check_password(self, number: str, password: str) -> bool:
        """False for an unknown account too (no enumeration)."""

    async def accounts_by_phone(self, phone_e164: str) -> list[AccountCard]: ...

    async def grant_trust_payment(
        self, number: str, policy: TrustPolicy, now: datetime
    ) -> TrustResult:
        """Atomic: two concurrent calls for one account give at most one grant."""

    async def ping(self) -> bool: ...
