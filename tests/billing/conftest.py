"""Helpers for the billing tests: reference data and accounts inserted directly."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from billing.models import Account
from billing.passwords import INSECURE_FAST, hash_password
from reference.directory import Directory
from billing.sql import SqlBilling

CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def directory() -> Directory:
    return Directory()


@pytest.fixture
def billing(db_sessions, directory) -> SqlBilling:
    return SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST)


@pytest.fixture
def add_account(db_sessions):
    async def add(
        number: str,
        *,
        city: str = "Москва",
        monthly_fee: str = "500.00",
        balance: str = "0.00",
        status: str = "active",
        phone: str = "+79001112233",
        password: str = "secret",
        tariff: str = "Домашний 100",
    ) -> int:
        async with db_sessions() as session, session.begin():
            account = Account(
                number=number,
                password_hash=hash_password(password, INSECURE_FAST),
                phone=phone,
                email=None,
                city=city,
                tariff=tariff,
                monthly_fee=Decimal(monthly_fee),
                balance=Decimal(balance),
                status=status,
                next_charge_date=None,
                created_at=CREATED,
                updated_at=CREATED,
            )
            session.add(account)
            await session.flush()
            return account.id

    return add
