"""The demo subscribers tell the same story whatever the date."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from billing.demo import DEMO_FILE, load_demo_if_empty
from billing.passwords import INSECURE_FAST
from billing.port import AccountStatus, TrustOutcome, TrustPolicy
from billing.sql import SqlBilling
from billing.subscriber_file import read_subscriber_file

UTC = timezone.utc


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
        # 1 December 00:10 in Томск (UTC+7): the month has only just begun there.
        datetime(2026, 11, 30, 17, 10, tzinfo=UTC),
        datetime(2027, 2, 28, 23, 0, tzinfo=UTC),
    ],
)
async def test_demo_story(db_sessions, directory, now):
    assert await load_demo_if_empty(db_sessions, directory, now, profile=INSECURE_FAST) is True
    billing = SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST, clock=lambda: now)

    expected = {
        "1000001": ("Москва", "550.00", "1200.00", AccountStatus.ACTIVE),
        "1000002": ("Уфа", "450.00", "50.00", AccountStatus.ACTIVE),
        "1000003": ("Томск", "500.00", "-20.00", AccountStatus.BLOCKED),
        "1000004": ("Владивосток", "600.00", "0.00", AccountStatus.BLOCKED),
    }
    for number, (city, fee, balance, status) in expected.items():
        card = await billing.find_account(number)
        assert (card.city, card.monthly_fee, card.balance, card.status) == (city, Decimal(fee), Decimal(balance), status)
        assert card.phone == f"+7900000000{number[-1]}"
        assert await billing.check_password(number, f"demo{number[-1]}")
        local = now.astimezone(directory.city(city).tz)
        assert card.next_charge_date == (date(local.year + local.month // 12, local.month % 12 + 1, 1))

    policy = TrustPolicy()
    assert (await billing.grant_trust_payment("1000001", policy, now)).outcome is TrustOutcome.ENOUGH_MONEY
    used = await billing.grant_trust_payment("1000003", policy, now)
    assert used.outcome is TrustOutcome.ALREADY_USED
    assert used.used_at <= now
    assert (await billing.grant_trust_payment("1000002", policy, now)).outcome is TrustOutcome.GRANTED
    assert (await billing.grant_trust_payment("1000004", policy, now)).outcome is TrustOutcome.GRANTED
    assert (await billing.find_account("1000004")).status is AccountStatus.ACTIVE


async def test_demo_extras(db_sessions, directory):
    now = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    await load_demo_if_empty(db_sessions, directory, now, profile=INSECURE_FAST)
    billing = SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST, clock=lambda: now)

    shared = await billing.accounts_by_phone("+79000000006")
    assert [c.number for c in shared] == ["1000006", "1000007"]
    assert {c.city for c in shared} == {"Нальчик"}
    frozen = await billing.find_account("1000005")
    assert frozen.status is AccountStatus.FROZEN
    assert (await billing.grant_trust_payment("1000005", TrustPolicy(), now)).outcome is TrustOutcome.FROZEN
    tariffs = {row.tariff for row in read_subscriber_file(DEMO_FILE, directory).rows}
    assert {"Домашний 100", "Домашний 300 + ТВ"} <= tariffs


async def test_loads_only_into_an_empty_database(db_sessions, directory, add_account):
    now = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    await add_account("5550001")

    assert await load_demo_if_empty(db_sessions, directory, now, profile=INSECURE_FAST) is False
    billing = SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST)
    assert await billing.find_account("1000001") is None


async def test_second_load_is_a_no_op(db_sessions, directory):
    now = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    assert await load_demo_if_empty(db_sessions, directory, now, profile=INSECURE_FAST)
    assert not await load_demo_if_empty(db_sessions, directory, now + timedelta(days=40), profile=INSECURE_FAST)
