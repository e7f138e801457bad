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
    voluntary_block_until: datetime | None = None  # a voluntary block in force ends then (UTC)

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

    # -- voluntary blocks: every change atomic, with an audit record naming who asked
    # (``actor``, e.g. the conversation) --------------------------------------------------
    def voluntary_block_policy(self) -> BlockPolicy: ...

    async def voluntary_block(self, number: str, now: datetime) -> VoluntaryBlock | None:
        """The block in force or still to come, if any."""

    async def place_voluntary_block(
        self, number: str, starts_on: date, days: int, now: datetime, *, actor: str
    ) -> BlockResult:
        """From local midnight of ``starts_on`` for ``days`` days; at most one at a time."""

    async def lift_voluntary_block(self, number: str, now: datetime, *, actor: str) -> BlockResult:
        """End it now (or cancel one not started); the unused days' fee goes back."""


# -- voluntary block («добровольная блокировка») ---------------------------------------------


@dataclass(frozen=True)
class BlockPolicy:
    """The provider's voluntary block rules (settings, not code)."""

    min_days: int = 7
    max_days: int = 90
    max_days_ahead: int = 30  # the first day may be at most this far from today
    fee_per_day: Decimal = Decimal("0")

    def check(self, starts_on: date, days: int, today: date) -> "BlockOutcome | None":
        """The rule a request breaks, or None. ``today`` in the subscriber's local time."""
        if days < self.min_days:
            return BlockOutcome.TOO_SHORT
        if days > self.max_days:
            return BlockOutcome.TOO_LONG
        if starts_on < today:
            return BlockOutcome.START_IN_PAST
        if (starts_on - today).days > self.max_days_ahead:
            return BlockOutcome.START_TOO_FAR
        return None

    def fee_for(self, days: int) -> Decimal:
        return (self.fee_per_day * days).quantize(Decimal("0.01"))


class BlockOutcome(str, enum.Enum):
    PLACED = "placed"
    LIFTED = "lifted"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    START_IN_PAST = "start_in_past"
    START_TOO_FAR = "start_too_far"
    ALREADY_BLOCKED = "already_blocked"  # a voluntary block is placed already (or the account is frozen)
    BLOCKED_FOR_DEBT = "blocked_for_debt"  # pay first: the block pauses a working service
    NOT_ENOUGH_MONEY = "not_enough_money"  # for the block's fee
    NO_BLOCK = "no_block"  # nothing to lift
    UNKNOWN_ACCOUNT = "unknown_account"


@dataclass(frozen=True)
class VoluntaryBlock:
    starts_at: datetime  # UTC: local midnight of the first day
    ends_at: datetime  # UTC: local midnight when the services return
    days: int
    fee: Decimal


@dataclass(frozen=True)
class BlockResult:
    outcome: BlockOutcome
    block: VoluntaryBlock | None = None
    refund: Decimal | None = None  # on LIFTED: the fee of the days not used
