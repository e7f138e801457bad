"""Voluntary block through the SQL billing, on SQLite and PostgreSQL: the rules,
what it costs, services returning, lifting early, atomicity and the audit log."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.models import Account, BillingAudit, VoluntaryBlockRow
from billing.passwords import INSECURE_FAST
from billing.port import AccountStatus, BlockOutcome, BlockPolicy, TrustOutcome, TrustPolicy
from billing.sql import SqlBilling

# Wednesday 18 November 2026, 09:00 UTC = 12:00 Moscow, 14:00 Ufa.
NOW = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 18)
POLICY = BlockPolicy(min_days=7, max_days=90, max_days_ahead=30, fee_per_day=Decimal("10"))


@pytest.fixture
def billing(db_sessions, directory) -> SqlBilling:
    return SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST, block_policy=POLICY)


async def _balance(db_sessions, number: str) -> Decimal:
    async with db_sessions() as session:
        return await session.scalar(select(Account.balance).where(Account.number == number))


async def _audit(db_sessions, account_id: int) -> list[BillingAudit]:
    async with db_sessions() as session:
        return list(await session.scalars(select(BillingAudit).where(BillingAudit.account_id == account_id).order_by(BillingAudit.id)))


@pytest.mark.parametrize(
    ("starts_on", "days", "outcome"),
    [
        (TODAY, 6, BlockOutcome.TOO_SHORT),
        (TODAY, 91, BlockOutcome.TOO_LONG),
        (TODAY - timedelta(days=1), 14, BlockOutcome.START_IN_PAST),
        (TODAY + timedelta(days=31), 14, BlockOutcome.START_TOO_FAR),
        (TODAY + timedelta(days=30), 90, None),
        (TODAY, 7, None),
    ],
)
def test_policy_limits(starts_on, days, outcome):
    assert POLICY.check(starts_on, days, TODAY) is outcome


def test_policy_fee():
    assert POLICY.fee_for(14) == Decimal("140.00")
    assert BlockPolicy().fee_for(90) == Decimal("0.00")


async def test_block_from_a_date_in_the_city_time_zone(db_sessions, billing, add_account):
    account_id = await add_account("5100001", city="Уфа", balance="500")
    result = await billing.place_voluntary_block("5100001", date(2026, 12, 1), 14, NOW, actor="webchat:1")
    assert result.outcome is BlockOutcome.PLACED
    # Midnight in Ufa (UTC+5) is 19:00 UTC the day before.
    assert result.block.starts_at == datetime(2026, 11, 30, 19, 0, tzinfo=timezone.utc)
    assert result.block.ends_at == datetime(2026, 12, 14, 19, 0, tzinfo=timezone.utc)  # services back 15 Dec
    assert result.block.fee == Decimal("140.00")
    assert await _balance(db_sessions, "5100001") == Decimal("360.00")
    [audit] = await _audit(db_sessions, account_id)
    assert audit.action == "voluntary_block.placed" and audit.actor == "webchat:1" and "2026-12-01" in audit.detail
    assert await billing.voluntary_block("5100001", NOW) == result.block
    # Not in force yet (at NOW, not the wall clock: the block starts 30 Nov 19:00 UTC): the card still says active.
    on_the_day_asked = SqlBilling(billing._sessions, billing._directory, clock=lambda: NOW)  # noqa: SLF001
    assert (await on_the_day_asked.find_account("5100001")).status is AccountStatus.ACTIVE


async def test_block_in_force_freezes_the_card_and_trust_payment(billing, add_account):
    await add_account("5100002", balance="100", monthly_fee="500")
    placed = await billing.place_voluntary_block("5100002", TODAY, 7, NOW, actor="t")
    assert placed.outcome is BlockOutcome.PLACED
    card = await SqlBilling(billing._sessions, billing._directory, clock=lambda: NOW).find_account("5100002")  # noqa: SLF001
    assert card.status is AccountStatus.FROZEN and card.voluntary_block_until == placed.block.ends_at
    assert (await billing.grant_trust_payment("5100002", TrustPolicy(), NOW)).outcome is TrustOutcome.FROZEN


async def test_refusals(billing, add_account):
    await add_account("5100003", status="blocked", balance="-10")
    await add_account("5100004", status="frozen")
    await add_account("5100005", balance="50")
    assert (await billing.place_voluntary_block("5100003", TODAY, 7, NOW, actor="t")).outcome is BlockOutcome.BLOCKED_FOR_DEBT
    assert (await billing.place_voluntary_block("5100004", TODAY, 7, NOW, actor="t")).outcome is BlockOutcome.ALREADY_BLOCKED
    assert (await billing.place_voluntary_block("5100005", TODAY, 7, NOW, actor="t")).outcome is BlockOutcome.NOT_ENOUGH_MONEY
    assert (await billing.place_voluntary_block("0000000", TODAY, 7, NOW, actor="t")).outcome is BlockOutcome.UNKNOWN_ACCOUNT
    assert (await billing.place_voluntary_block("5100005", TODAY, 3, NOW, actor="t")).outcome is BlockOutcome.TOO_SHORT
    assert (await billing.lift_voluntary_block("5100005", NOW, actor="t")).outcome is BlockOutcome.NO_BLOCK
    with pytest.raises(ValueError):
        await billing.place_voluntary_block("5100005", TODAY, 7, datetime(2026, 11, 18, 12), actor="t")


async def test_second_block_is_refused_until_the_first_ends(billing, add_account):
    await add_account("5100006", balance="1000")
    first = await billing.place_voluntary_block("5100006", TODAY, 7, NOW, actor="t")
    second = await billing.place_voluntary_block("5100006", TODAY + timedelta(days=10), 7, NOW, actor="t")
    assert second.outcome is BlockOutcome.ALREADY_BLOCKED and second.block == first.block
    after = first.block.ends_at + timedelta(minutes=1)
    assert await billing.voluntary_block("5100006", after) is None
    third = await billing.place_voluntary_block("5100006", date(2026, 11, 26), 7, after, actor="t")
    assert third.outcome is BlockOutcome.PLACED


async def test_lifting_early_refunds_the_unused_days(db_sessions, billing, add_account):
    account_id = await add_account("5100007", balance="300")
    placed = await billing.place_voluntary_block("5100007", TODAY, 10, NOW, actor="webchat:7")  # 100 ₽
    assert await _balance(db_sessions, "5100007") == Decimal("200.00")
    three_days_later = NOW + timedelta(days=3)
    lifted = await billing.lift_voluntary_block("5100007", three_days_later, actor="webchat:7")
    assert lifted.outcome is BlockOutcome.LIFTED
    assert lifted.block.ends_at == three_days_later
    # Ends at local midnight of 28 Nov; from 21 Nov 12:00 that is 6 whole days and a half: 6 refunded.
    assert lifted.refund == Decimal("60.00")
    assert await _balance(db_sessions, "5100007") == Decimal("260.00")
    assert await billing.voluntary_block("5100007", three_days_later) is None
    assert (await billing.lift_voluntary_block("5100007", three_days_later, actor="t")).outcome is BlockOutcome.NO_BLOCK
    assert [a.action for a in await _audit(db_sessions, account_id)] == ["voluntary_block.placed", "voluntary_block.lifted"]
    assert placed.block.starts_at < lifted.block.ends_at


async def test_cancelling_a_block_not_started_refunds_it_all(db_sessions, billing, add_account):
    await add_account("5100008", balance="300")
    await billing.place_voluntary_block("5100008", TODAY + timedelta(days=5), 14, NOW, actor="t")
    lifted = await billing.lift_voluntary_block("5100008", NOW, actor="t")
    assert lifted.refund == Decimal("140.00") and await _balance(db_sessions, "5100008") == Decimal("300.00")


async def test_ten_concurrent_blocks_give_exactly_one_and_one_fee(db_sessions, directory, add_account):
    account_id = await add_account("5100009", balance="1000")
    requests = [
        SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST, block_policy=POLICY).place_voluntary_block(
            "5100009", TODAY, 10, NOW, actor=f"channel{i}"
        )
        for i in range(10)
    ]
    results = await asyncio.gather(*requests)
    outcomes = [r.outcome for r in results]
    assert outcomes.count(BlockOutcome.PLACED) == 1
    assert outcomes.count(BlockOutcome.ALREADY_BLOCKED) == 9
    assert await _balance(db_sessions, "5100009") == Decimal("900.00")
    async with db_sessions() as session:
        rows = list(await session.scalars(select(VoluntaryBlockRow).where(VoluntaryBlockRow.account_id == account_id)))
    assert len(rows) == 1
    assert len(await _audit(db_sessions, account_id)) == 1


async def test_two_concurrent_lifts_refund_once(db_sessions, directory, add_account):
    await add_account("5100010", balance="100")
    await SqlBilling(db_sessions, directory, block_policy=POLICY).place_voluntary_block("5100010", TODAY + timedelta(days=1), 7, NOW, actor="t")
    lifts = [
        SqlBilling(db_sessions, directory, block_policy=POLICY).lift_voluntary_block("5100010", NOW, actor=f"c{i}")
        for i in range(5)
    ]
    results = await asyncio.gather(*lifts)
    assert [r.outcome for r in results].count(BlockOutcome.LIFTED) == 1
    assert await _balance(db_sessions, "5100010") == Decimal("100.00")
