"""The built-in billing: the ``Billing`` port on our own SQL tables."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.models import Account, BillingAudit, TrustPayment, VoluntaryBlockRow
from billing.months import city_tz, first_day_after, period_of
from billing.passwords import STANDARD, HashProfile, hash_password, needs_rehash, verify_password
from billing.port import (
    AccountCard,
    AccountStatus,
    BlockOutcome,
    BlockPolicy,
    BlockResult,
    TrustOutcome,
    TrustPolicy,
    TrustResult,
    VoluntaryBlock,
)
from reference.directory import Directory
from storage.clock import utc_now
from storage.engine import engine_of

log = logging.getLogger(__name__)

CENT = Decimal("0.01")



def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


class SqlBilling:
    """``Billing`` on the ``accounts`` / ``trust_payments`` tables.

    ``password_profile``: argon2 parameters for the dummy hash and for upgrading
    weaker stored hashes after a successful login. ``clock`` decides which trust
    payments count as active on an account card.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        directory: Directory,
        *,
        password_profile: HashProfile = STANDARD,
        block_policy: BlockPolicy = BlockPolicy(),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = sessions
        self._engine = engine_of(sessions)
        self._block_policy = block_policy
        self._directory = directory
        self._profile = password_profile
        self._clock = clock
        self._dummy_hash: str | None = None

    # -- reading ------------------------------------------------------------------------

    def _cards_query(self, now: datetime):
        active_until = (
            select(func.max(TrustPayment.valid_until))
            .where(TrustPayment.account_id == Account.id, TrustPayment.valid_until > now)
            .correlate(Account)
            .scalar_subquery()
        )
        blocked_until = (
            select(func.max(VoluntaryBlockRow.ends_at))
            .where(
                VoluntaryBlockRow.account_id == Account.id,
                VoluntaryBlockRow.status == "active",
                VoluntaryBlockRow.starts_at <= now,
                VoluntaryBlockRow.ends_at > now,
            )
            .correlate(Account)
            .scalar_subquery()
        )
        # Core rows (the account's columns and the two dates), not ORM objects: this
        # is read on dialog turns (login, balance) and nothing here is changed.
        return select(Account.__table__, active_until.label("trust_until"), blocked_until.label("blocked_until"))

    async def find_account(self, number: str) -> AccountCard | None:
        query = self._cards_query(self._clock()).where(Account.number == number.strip())
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return _card(row, row.trust_until, row.blocked_until) if row else None

    async def accounts_by_phone(self, phone_e164: str) -> list[AccountCard]:
        query = (
            self._cards_query(self._clock())
            .where(Account.phone == phone_e164.strip())
            .order_by(Account.number)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_card(row, row.trust_until, row.blocked_until) for row in rows]

    # -- passwords ------------------------------------------------------------------------

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(
                hash_password, "no such account: dummy password", self._profile
            )
        return self._dummy_hash

    async def check_password(self, number: str, password: str) -> bool:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Account.id, Account.password_hash).where(Account.number == number.strip())
                )
            ).first()
        if row is None:
            # Same work as for a real account, so the answer's timing does not tell
            # whether the account exists.
            await asyncio.to_thread(verify_password, await self._dummy(), password, self._profile)
            return False
        account_id, stored = row
        if not await asyncio.to_thread(verify_password, stored, password, self._profile):
            return False
        if needs_rehash(stored, self._profile):
            await self._rehash(account_id, stored, password)
        return True

    async def _rehash(self, account_id: int, old_hash: str, password: str) -> None:
        """Upgrade a hash made with a cheaper profile (e.g. a bulk import)."""
        new_hash = await asyncio.to_thread(hash_password, password, self._profile)
        async with self._sessions() as session, session.begin():
            # Only if nobody changed the password meanwhile.
            await session.execute(
                update(Account)
                .where(Account.id == account_id, Account.password_hash == old_hash)
                .values(password_hash=new_hash)
                .execution_options(synchronize_session=False)
            )

    # -- trust payment --------------------------------------------------------------------

    async def grant_trust_payment(self, number: str, policy: TrustPolicy, now: datetime) -> TrustResult:
        """Grant a trust payment, at most once per local calendar month.

        The unique constraint (account_id, period) decides who wins a race: the grant
        row is inserted and an IntegrityError means another request got there first.
        The earlier look-up of an existing grant only picks the friendlier answer for
        the common, sequential case; correctness never depends on it.
        """
        _require_aware(now)
        if policy.per_calendar_month != 1:
            raise ValueError("the schema allows exactly one trust payment per calendar month")

        async with self._sessions() as session:
            account = await session.scalar(select(Account).where(Account.number == number.strip()))
            if account is None:
                return TrustResult(TrustOutcome.UNKNOWN_ACCOUNT)
            if account.status == AccountStatus.FROZEN.value or await _block_in_force(session, account.id, now):
                return TrustResult(TrustOutcome.FROZEN)
            # Kept as plain values: a rollback below expires the ORM object.
            account_id = account.id

            period = period_of(now, city_tz(self._directory, account.city))
            earlier = await _grant_in(session, account_id, period)
            if earlier is not None:
                return _already_used(earlier)
            if account.balance >= account.monthly_fee:
                return TrustResult(TrustOutcome.ENOUGH_MONEY)

            amount = money(account.monthly_fee * policy.amount_multiplier)
            fee = money(policy.fee)
            valid_until = now + timedelta(days=policy.days)
            session.add(
                TrustPayment(
                    account_id=account_id,
                    period=period,
                    amount=amount,
                    fee=fee,
                    granted_at=now,
                    valid_until=valid_until,
                )
            )
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                winner = await _grant_in(session, account_id, period)
                if winner is None:  # not the period: the account vanished meanwhile
                    return TrustResult(TrustOutcome.UNKNOWN_ACCOUNT)
                return _already_used(winner)

            # Arithmetic in SQL, not in Python: no lost update against a payment
            # credited at the same moment.
            await session.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(
                    balance=Account.balance + amount,
                    status=case(
                        (Account.status == AccountStatus.BLOCKED.value, AccountStatus.ACTIVE.value),
                        else_=Account.status,
                    ),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        log.info("trust payment granted to account %s until %s", number, valid_until.isoformat())
        return TrustResult(TrustOutcome.GRANTED, amount=amount, fee=fee, valid_until=valid_until)

    # -- voluntary block ------------------------------------------------------------------

    def voluntary_block_policy(self) -> BlockPolicy:
        return self._block_policy

    async def voluntary_block(self, number: str, now: datetime) -> VoluntaryBlock | None:
        _require_aware(now)
        async with self._sessions() as session:
            row = await session.scalar(
                select(VoluntaryBlockRow)
                .join(Account, Account.id == VoluntaryBlockRow.account_id)
                .where(Account.number == number.strip(), VoluntaryBlockRow.status == "active", VoluntaryBlockRow.ends_at > now)
            )
            return _block(row) if row is not None else None

    async def place_voluntary_block(
        self, number: str, starts_on: date, days: int, now: datetime, *, actor: str
    ) -> BlockResult:
        """One transaction: close blocks that have run out, check the rules, insert the
        block (the partial unique index lets only one active block per account commit),
        take the fee with arithmetic in SQL, write the audit record."""
        _require_aware(now)
        policy = self._block_policy
        async with self._sessions() as session:
            account = await session.scalar(select(Account).where(Account.number == number.strip()))
            if account is None:
                return BlockResult(BlockOutcome.UNKNOWN_ACCOUNT)
            account_id, status, balance = account.id, account.status, account.balance
            tz = city_tz(self._directory, account.city)
            broken = policy.check(starts_on, days, now.astimezone(tz).date())
            if broken is not None:
                return BlockResult(broken)
            await _end_finished_blocks(session, account_id, now)
            existing = await _active_block(session, account_id)
            if existing is not None or status == AccountStatus.FROZEN.value:
                return BlockResult(BlockOutcome.ALREADY_BLOCKED, _block(existing) if existing else None)
            if status == AccountStatus.BLOCKED.value:
                return BlockResult(BlockOutcome.BLOCKED_FOR_DEBT)
            fee = money(policy.fee_for(days))
            if fee > 0 and balance < fee:
                return BlockResult(BlockOutcome.NOT_ENOUGH_MONEY)
            starts_at = _local_midnight(starts_on, tz)
            row = VoluntaryBlockRow(
                account_id=account_id,
                starts_at=starts_at,
                ends_at=_local_midnight(starts_on + timedelta(days=days), tz),
                days=days,
                fee=fee,
                status="active",
                created_at=now,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                winner = await _active_block(session, account_id)
                return BlockResult(BlockOutcome.ALREADY_BLOCKED, _block(winner) if winner else None)
            block = _block(row)
            if fee > 0:
                charged = await session.execute(
                    update(Account)
                    .where(Account.id == account_id, Account.balance >= fee)
                    .values(balance=Account.balance - fee, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if charged.rowcount != 1:  # a charge got there first
                    await session.rollback()
                    return BlockResult(BlockOutcome.NOT_ENOUGH_MONEY)
            session.add(
                _audit(account_id, "voluntary_block.placed", f"{starts_on.isoformat()} +{days}d fee {fee}", actor, now)
            )
            await session.commit()
        log.info("voluntary block for account %s from %s for %d days", number, starts_on.isoformat(), days)
        return BlockResult(BlockOutcome.PLACED, block)

    async def lift_voluntary_block(self, number: str, now: datetime, *, actor: str) -> BlockResult:
        """Compare-and-set on the active row: of two lifts at once, one refunds."""
        _require_aware(now)
        async with self._sessions() as session:
            account_id = await session.scalar(select(Account.id).where(Account.number == number.strip()))
            if account_id is None:
                return BlockResult(BlockOutcome.UNKNOWN_ACCOUNT)
            await _end_finished_blocks(session, account_id, now)
            row = await _active_block(session, account_id)
            if row is None:
                await session.commit()
                return BlockResult(BlockOutcome.NO_BLOCK)
            block = _block(row)
            ends_at = max(min(block.ends_at, now), block.starts_at)
            lifted = await session.execute(
                update(VoluntaryBlockRow)
                .where(VoluntaryBlockRow.id == row.id, VoluntaryBlockRow.status == "active")
                .values(status="lifted", lifted_at=now, ends_at=ends_at)
                .execution_options(synchronize_session=False)
            )
            if lifted.rowcount != 1:
                await session.rollback()
                return BlockResult(BlockOutcome.NO_BLOCK)
            refund = _unused_fee(block, now)
            if refund > 0:
                await session.execute(
                    update(Account)
                    .where(Account.id == account_id)
                    .values(balance=Account.balance + refund, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
            session.add(_audit(account_id, "voluntary_block.lifted", f"block {row.id} lifted, refund {refund}", actor, now))
            await session.commit()
        log.info("voluntary block of account %s lifted", number)
        return BlockResult(
            BlockOutcome.LIFTED,
            VoluntaryBlock(starts_at=block.starts_at, ends_at=ends_at, days=block.days, fee=block.fee),
            refund=refund,
        )

    # -- health ---------------------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            async with self._sessions() as session:
                await session.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as error:
            log.warning("billing database unreachable: %s", type(error).__name__)
            return False
        return True


async def _grant_in(session: AsyncSession, account_id: int, period: str) -> TrustPayment | None:
    return await session.scalar(
        select(TrustPayment).where(TrustPayment.account_id == account_id, TrustPayment.period == period)
    )


def _already_used(grant: TrustPayment) -> TrustResult:
    return TrustResult(
        TrustOutcome.ALREADY_USED,
        used_at=grant.granted_at,
        available_from=first_day_after(grant.period),
    )


async def _block_in_force(session: AsyncSession, account_id: int, now: datetime) -> bool:
    found = await session.scalar(
        select(VoluntaryBlockRow.id).where(
            VoluntaryBlockRow.account_id == account_id,
            VoluntaryBlockRow.status == "active",
            VoluntaryBlockRow.starts_at <= now,
            VoluntaryBlockRow.ends_at > now,
        )
    )
    return found is not None


async def _end_finished_blocks(session: AsyncSession, account_id: int, now: datetime) -> None:
    """A block whose days have run out stops being the account's one active block."""
    await session.execute(
        update(VoluntaryBlockRow)
        .where(
            VoluntaryBlockRow.account_id == account_id,
            VoluntaryBlockRow.status == "active",
            VoluntaryBlockRow.ends_at <= now,
        )
        .values(status="ended")
        .execution_options(synchronize_session=False)
    )


async def _active_block(session: AsyncSession, account_id: int) -> VoluntaryBlockRow | None:
    return await session.scalar(
        select(VoluntaryBlockRow)
        .where(VoluntaryBlockRow.account_id == account_id, VoluntaryBlockRow.status == "active")
        .execution_options(populate_existing=True)
    )


def _audit(account_id: int, action: str, detail: str, actor: str, now: datetime) -> BillingAudit:
    """The audit row of a change to an account (who did what, when)."""
    return BillingAudit(account_id=account_id, action=action, detail=detail, actor=actor[:200], at=now)


def _local_midnight(day: date, tz) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def _block(row: VoluntaryBlockRow) -> VoluntaryBlock:
    return VoluntaryBlock(
        starts_at=row.starts_at.astimezone(timezone.utc),
        ends_at=row.ends_at.astimezone(timezone.utc),
        days=row.days,
        fee=money(row.fee),
    )


def _unused_fee(block: VoluntaryBlock, now: datetime) -> Decimal:
    """The fee of the whole days not yet begun (all of them if the block had not started)."""
    if block.fee <= 0 or block.days <= 0:
        return Decimal("0")
    unused_days = block.days if now <= block.starts_at else max(0, (block.ends_at - now) // timedelta(days=1))
    return money(block.fee * unused_days / block.days)


def _card(account: Account | Row, trust_until: datetime | None, blocked_until: datetime | None = None) -> AccountCard:
    status = AccountStatus(account.status)
    if blocked_until is not None and status is AccountStatus.ACTIVE:
        status = AccountStatus.FROZEN  # paused by the subscriber's voluntary block
    return AccountCard(
        number=account.number,
        phone=account.phone,
        email=account.email,
        city=account.city,
        tariff=account.tariff,
        monthly_fee=money(account.monthly_fee),
        balance=money(account.balance),
        status=status,
        next_charge_date=account.next_charge_date,
        trust_payment_until=trust_until,
        voluntary_block_until=blocked_until,
    )
