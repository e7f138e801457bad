"""SqlBilling: accounts, passwords and the trust payment rules, on both databases."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update

from billing.models import Account, TrustPayment
from billing.passwords import BULK, INSECURE_FAST
from billing.port import AccountStatus, TrustOutcome, TrustPolicy
from billing.sql import SqlBilling

UTC = timezone.utc
NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
POLICY = TrustPolicy()


async def _account(db_sessions, number: str) -> Account:
    async with db_sessions() as session:
        return await session.scalar(select(Account).where(Account.number == number))


async def _grants(db_sessions, account_id: int) -> list[TrustPayment]:
    async with db_sessions() as session:
        rows = await session.scalars(
            select(TrustPayment).where(TrustPayment.account_id == account_id).order_by(TrustPayment.id)
        )
        return list(rows)


async def _set_balance(db_sessions, number: str, balance: str) -> None:
    async with db_sessions() as session, session.begin():
        await session.execute(update(Account).where(Account.number == number).values(balance=Decimal(balance)))


# -- accounts and passwords ------------------------------------------------------------------


async def test_find_account_returns_the_card(billing, add_account):
    await add_account("1234567", city="Уфа", monthly_fee="450", balance="-12.5", status="blocked")

    card = await billing.find_account(" 1234567 ")

    assert card is not None
    assert (card.number, card.city, card.phone, card.tariff) == ("1234567", "Уфа", "+79001112233", "Домашний 100")
    assert card.monthly_fee == Decimal("450.00")
    assert card.balance == Decimal("-12.50")
    assert card.debt == Decimal("12.50")
    assert card.status is AccountStatus.BLOCKED
    assert card.trust_payment_until is None
    assert await billing.find_account("7654321") is None


async def test_check_password(billing, add_account):
    await add_account("1234567", password="Пароль-1")

    assert await billing.check_password("1234567", "Пароль-1") is True
    assert await billing.check_password("1234567", "пароль-1") is False
    assert await billing.check_password("1234567", "") is False


async def test_unknown_account_still_verifies_a_hash(billing):
    # The dummy hash exists only once a verification against it has run.
    assert await billing.check_password("999999999", "whatever") is False
    assert billing._dummy_hash is not None and billing._dummy_hash.startswith("$argon2id$")


async def test_weaker_hash_is_upgraded_after_login(db_sessions, directory, add_account):
    await add_account("1234567", password="secret")  # INSECURE_FAST hash
    billing = SqlBilling(db_sessions, directory, password_profile=BULK)

    assert await billing.check_password("1234567", "secret")

    stored = (await _account(db_sessions, "1234567")).password_hash
    assert "m=19456,t=2,p=1" in stored
    assert await billing.check_password("1234567", "secret")
    assert not await billing.check_password("1234567", "wrong")


async def test_accounts_by_phone(billing, add_account):
    await add_account("2000002", phone="+79005550000")
    await add_account("2000001", phone="+79005550000", status="frozen")
    await add_account("2000003", phone="+79005559999")

    cards = await billing.accounts_by_phone("+79005550000")

    assert [c.number for c in cards] == ["2000001", "2000002"]
    assert await billing.accounts_by_phone("+79000000000") == []


async def test_ping(billing):
    assert await billing.ping() is True


# -- trust payment ---------------------------------------------------------------------------


async def test_refusals(billing, add_account):
    await add_account("3000001", status="frozen", balance="-100")
    await add_account("3000002", monthly_fee="500", balance="500")

    assert (await billing.grant_trust_payment("3999999", POLICY, NOW)).outcome is TrustOutcome.UNKNOWN_ACCOUNT
    assert (await billing.grant_trust_payment("3000001", POLICY, NOW)).outcome is TrustOutcome.FROZEN
    assert (await billing.grant_trust_payment("3000002", POLICY, NOW)).outcome is TrustOutcome.ENOUGH_MONEY


async def test_grant_raises_balance_unblocks_and_shows_on_card(db_sessions, directory, add_account):
    account_id = await add_account("4000001", city="Томск", monthly_fee="600", balance="-20", status="blocked")
    billing = SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST, clock=lambda: NOW + timedelta(hours=1))

    result = await billing.grant_trust_payment("4000001", POLICY, NOW)

    assert result.outcome is TrustOutcome.GRANTED
    assert result.amount == Decimal("600.00")
    assert result.fee == Decimal("0.00")
    assert result.valid_until == NOW + timedelta(days=3)
    card = await billing.find_account("4000001")
    assert card.balance == Decimal("580.00")
    assert card.status is AccountStatus.ACTIVE
    assert card.trust_payment_until == NOW + timedelta(days=3)
    (grant,) = await _grants(db_sessions, account_id)
    assert (grant.period, grant.granted_at) == ("2026-11", NOW)

    # Once the grant has run out the card no longer shows it.
    later = SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST, clock=lambda: NOW + timedelta(days=4))
    assert (await later.find_account("4000001")).trust_payment_until is None


async def test_policy_settings_apply(billing, add_account):
    await add_account("4000002", monthly_fee="550", balance="10", status="active")
    policy = TrustPolicy(days=5, fee=Decimal("15"), amount_multiplier=Decimal("0.5"))

    result = await billing.grant_trust_payment("4000002", policy, NOW)

    assert (result.amount, result.fee, result.valid_until) == (
        Decimal("275.00"),
        Decimal("15.00"),
        NOW + timedelta(days=5),
    )
    card = await billing.find_account("4000002")
    assert card.balance == Decimal("285.00")
    assert card.status is AccountStatus.ACTIVE


async def test_second_grant_in_the_same_month_is_refused(db_sessions, billing, add_account):
    await add_account("5000001", monthly_fee="500", balance="-1000", status="blocked")
    first = await billing.grant_trust_payment("5000001", POLICY, NOW)

    again = await billing.grant_trust_payment("5000001", POLICY, NOW + timedelta(days=10))

    assert first.outcome is TrustOutcome.GRANTED
    assert again.outcome is TrustOutcome.ALREADY_USED
    assert again.used_at == NOW
    assert again.available_from == date(2026, 12, 1)
    assert (await billing.find_account("5000001")).balance == Decimal("-500.00")

    next_month = await billing.grant_trust_payment("5000001", POLICY, datetime(2026, 12, 1, 9, tzinfo=UTC))
    assert next_month.outcome is TrustOutcome.GRANTED


async def test_month_boundary_is_the_subscribers_local_month(db_sessions, billing, add_account):
    vladivostok = await add_account("6000001", city="Владивосток", monthly_fee="600", balance="0", status="blocked")
    moscow = await add_account("6000002", city="Москва", monthly_fee="600", balance="0", status="blocked")
    moment = datetime(2026, 11, 30, 20, 30, tzinfo=UTC)  # 06:30 on 1 December in Vladivostok, 23:30 in Moscow

    assert (await billing.grant_trust_payment("6000001", POLICY, moment)).outcome is TrustOutcome.GRANTED
    assert (await billing.grant_trust_payment("6000002", POLICY, moment)).outcome is TrustOutcome.GRANTED
    assert [g.period for g in await _grants(db_sessions, vladivostok)] == ["2026-12"]
    assert [g.period for g in await _grants(db_sessions, moscow)] == ["2026-11"]

    # One hour later it is December in Moscow too: a new month there, the same one in Vladivostok.
    await _set_balance(db_sessions, "6000001", "0")
    await _set_balance(db_sessions, "6000002", "0")
    later = moment + timedelta(hours=1)
    refused = await billing.grant_trust_payment("6000001", POLICY, later)
    assert refused.outcome is TrustOutcome.ALREADY_USED
    assert refused.available_from == date(2027, 1, 1)
    assert (await billing.grant_trust_payment("6000002", POLICY, later)).outcome is TrustOutcome.GRANTED


async def test_ten_concurrent_grants_give_exactly_one(db_sessions, directory, add_account):
    account_id = await add_account("7000001", monthly_fee="500", balance="-50", status="blocked")
    # A separate SqlBilling (and so separate sessions) per request, as from different channels.
    requests = [
        SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST).grant_trust_payment("7000001", POLICY, NOW)
        for _ in range(10)
    ]

    results = await asyncio.gather(*requests)

    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes.count(TrustOutcome.GRANTED.value) == 1
    assert outcomes.count(TrustOutcome.ALREADY_USED.value) == 9
    assert (await _account(db_sessions, "7000001")).balance == Decimal("450.00")
    assert len(await _grants(db_sessions, account_id)) == 1


async def test_the_unique_constraint_decides_a_race_the_look_up_cannot_see(db_engine, billing, add_account):
    """Another transaction has inserted this month's grant but not committed yet: the
    look-up sees nothing, the insert waits for it and then loses on the constraint."""
    account_id = await add_account("8000001", monthly_fee="500", balance="0", status="blocked")
    async with db_engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(
            insert(TrustPayment).values(
                account_id=account_id,
                period="2026-11",
                amount=Decimal("500"),
                fee=Decimal("0"),
                granted_at=NOW - timedelta(minutes=1),
                valid_until=NOW + timedelta(days=3),
            )
        )
        racing = asyncio.create_task(billing.grant_trust_payment("8000001", POLICY, NOW))
        await asyncio.sleep(0.5)
        assert not racing.done(), "the second grant must wait for the first transaction"
        await transaction.commit()

    result = await racing
    assert result.outcome is TrustOutcome.ALREADY_USED
    assert result.used_at == NOW - timedelta(minutes=1)
    account = await billing.find_account("8000001")
    assert account.balance == Decimal("0.00")
    assert account.status is AccountStatus.BLOCKED


async def test_trust_payment_needs_an_aware_time(billing, add_account):
    await add_account("9000001")
    with pytest.raises(ValueError):
        await billing.grant_trust_payment("9000001", POLICY, datetime(2026, 11, 1, 12))
