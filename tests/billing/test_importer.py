"""CSV import: validation of every row first, then one all-or-nothing upsert."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.importer import SubscriberImportError, import_subscribers
from billing.models import Account, TrustPayment
from billing.passwords import INSECURE_FAST, verify_password

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HEADER = "account,password,phone,city,tariff,monthly_fee,balance,status"


def write(tmp_path, text: str, name: str = "subscribers.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


async def run_import(db_sessions, directory, path, **kwargs):
    kwargs.setdefault("profile", INSECURE_FAST)
    kwargs.setdefault("now", NOW)
    return await import_subscribers(db_sessions, directory, path, **kwargs)


async def accounts(db_sessions) -> dict[str, Account]:
    async with db_sessions() as session:
        return {a.number: a for a in await session.scalars(select(Account))}


async def count(db_sessions, model) -> int:
    async with db_sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_good_file(db_sessions, directory, tmp_path):
    path = write(
        tmp_path,
        HEADER + ",email,next_charge_date,trust_payment_used_at\n"
        "1000001,pass-1,+7 (900) 000-00-01,Москва,Домашний 300 + ТВ,550,\"1 200,50\",active,a@example.com,2026-12-01,\n"
        "1000002,pass-2,89000000002,уфа,Домашний 100,450.00,-20,BLOCKED,,,2026-11-30T22:00:00+00:00\n"
        "\n"
        "1000003,pass-3,9000000003,  ВЛАДИВОСТОК ,Домашний 500,600,0,frozen,,,2026-11-05\n",
    )

    report = await run_import(db_sessions, directory, path)

    assert (report.rows, report.created, report.updated, report.trust_payments) == (3, 3, 0, 2)
    stored = await accounts(db_sessions)
    first, second, third = stored["1000001"], stored["1000002"], stored["1000003"]
    assert (first.phone, first.city, first.balance, first.email) == (
        "+79000000001",
        "Москва",
        Decimal("1200.50"),
        "a@example.com",
    )
    assert first.next_charge_date == date(2026, 12, 1)
    assert (second.phone, second.city, second.status, second.balance) == ("+79000000002", "Уфа", "blocked", Decimal("-20.00"))
    assert (third.phone, third.city, third.status) == ("+79000000003", "Владивосток", "frozen")
    assert verify_password(first.password_hash, "pass-1", INSECURE_FAST)
    assert not verify_password(first.password_hash, "pass-2", INSECURE_FAST)

    async with db_sessions() as session:
        grants = {g.account_id: g for g in await session.scalars(select(TrustPayment))}
    # 22:00 UTC on 30 November is already 1 December in Уфа (UTC+5).
    assert grants[second.id].period == "2026-12"
    assert grants[second.id].amount == Decimal("450.00")
    # A date alone means local midnight in Владивосток (UTC+10).
    assert grants[third.id].period == "2026-11"
    assert grants[third.id].granted_at == datetime(2026, 11, 4, 14, 0, tzinfo=UTC)


async def test_semicolon_file_with_bom(db_sessions, directory, tmp_path):
    path = write(
        tmp_path,
        "\ufeffAccount;Password;Phone;City;Tariff;Monthly_Fee;Balance;Status\n"
        "2000001;x;+79000000011;Нальчик;Домашний 100;450,00;12,30;active\n",
    )

    report = await run_import(db_sessions, directory, path)

    assert report.created == 1
    assert (await accounts(db_sessions))["2000001"].balance == Decimal("12.30")


async def test_every_bad_row_is_named_and_nothing_is_imported(db_sessions, directory, tmp_path):
    path = write(
        tmp_path,
        HEADER + ",email,next_charge_date,trust_payment_used_at\n"
        "3000001,ok,+79000000001,Москва,Домашний 100,450,0,active,,,\n"  # line 2: fine
        "30A01,ok,+79000000001,Москва,Домашний 100,450,0,active,,,\n"  # 3: account
        "3000003,ok,12345,Москва,Домашний 100,450,0,active,,,\n"  # 4: phone
        "3000004,ok,+79000000001,Париж,Домашний 100,450,0,active,,,\n"  # 5: city
        "3000005,ok,+79000000001,Москва,Домашний 100,сто,0,active,,,\n"  # 6: fee
        "3000006,ok,+79000000001,Москва,Домашний 100,450,1.234,active,,,\n"  # 7: balance
        "3000007,ok,+79000000001,Москва,Домашний 100,450,0,sleeping,,,\n"  # 8: status
        "3000008,ok,+79000000001,Москва,Домашний 100,450,0,active,,01.12.2026,\n"  # 9: date
        "3000009,ok,+79000000001,Москва,Домашний 100,450,0,active,,,вчера\n"  # 10: used_at
        "3000001,ok,+79000000001,Москва,Домашний 100,450,0,active,,,\n"  # 11: repeated
        "3000011,ok,+79000000001,Москва,Домашний 100,450,0\n"  # 12: short row
        "3000012,ok,+79000000001,Москва,Домашний 100,-450,0,active,,,\n"  # 13: negative fee
        "3000013,ok,+79000000001,Москва,,450,0,active,not-an-email,,\n",  # 14: tariff + email
    )

    with pytest.raises(SubscriberImportError) as caught:
        await run_import(db_sessions, directory, path)

    errors = caught.value.errors
    expected = {
        3: "account '30A01'",
        4: "phone '12345'",
        5: "city 'Париж'",
        6: "monthly_fee 'сто'",
        7: "balance '1.234' has more than two decimal places",
        8: "status 'sleeping'",
        9: "next_charge_date '01.12.2026'",
        10: "trust_payment_used_at 'вчера'",
        11: "account 3000001 already appears on line 2",
        12: "expected 11 fields, found 7",
        13: "monthly_fee '-450' cannot be negative",
        14: "tariff is empty",
    }
    assert len(errors) == len(expected)
    for line, fragment in expected.items():
        (message,) = [e for e in errors if e.startswith(f"line {line}: ")]
        assert fragment in message
    assert "email 'not-an-email'" in errors[-1]
    assert "line 2:" not in str(caught.value)
    assert await count(db_sessions, Account) == 0


async def test_header_problems(db_sessions, directory, tmp_path):
    path = write(tmp_path, "account,password,phone,city,tarif,monthly_fee,balance\n1,2,3,4,5,6,7\n")

    with pytest.raises(SubscriberImportError) as caught:
        await run_import(db_sessions, directory, path)

    assert caught.value.errors == [
        "line 1: unknown column 'tarif' (expected account, password, password_hash, phone, city, tariff, monthly_fee, "
        "balance, status, email, next_charge_date, trust_payment_used_at)",
        "line 1: missing column(s): tariff, status",
    ]


async def test_not_utf8(db_sessions, directory, tmp_path):
    path = write(tmp_path, HEADER + "\n1000001,x,+79000000001,Москва,Тариф,1,1,active\n", encoding="cp1251")

    with pytest.raises(SubscriberImportError, match="not UTF-8"):
        await run_import(db_sessions, directory, path)


async def test_upsert_updates_existing_accounts(db_sessions, directory, tmp_path):
    first = write(
        tmp_path,
        HEADER + ",email\n"
        "4000001,old-pass,+79000000001,Москва,Домашний 100,450,100,active,keep@example.com\n"
        "4000002,pass-2,+79000000002,Томск,Домашний 100,450,100,active,clear@example.com\n",
        "first.csv",
    )
    await run_import(db_sessions, directory, first)
    before = await accounts(db_sessions)

    # No email column: emails stay. Empty password: the password stays.
    second = write(
        tmp_path,
        HEADER + "\n"
        "4000001,,+79000000009,Липецк,Домашний 300,500,-5,blocked\n"
        "4000002,new-pass,+79000000002,Томск,Домашний 100,450,100,active\n"
        "4000003,pass-3,+79000000003,Томск,Домашний 100,450,0,active\n",
        "second.csv",
    )
    report = await run_import(db_sessions, directory, second)

    assert (report.created, report.updated) == (1, 2)
    after = await accounts(db_sessions)
    one, two = after["4000001"], after["4000002"]
    assert (one.phone, one.city, one.tariff, one.monthly_fee, one.balance, one.status) == (
        "+79000000009",
        "Липецк",
        "Домашний 300",
        Decimal("500.00"),
        Decimal("-5.00"),
        "blocked",
    )
    assert one.id == before["4000001"].id
    assert one.password_hash == before["4000001"].password_hash
    assert one.email == "keep@example.com"
    assert verify_password(two.password_hash, "new-pass", INSECURE_FAST)

    # An email column with an empty cell clears the email.
    third = write(tmp_path, HEADER + ",email\n4000002,,+79000000002,Томск,Домашний 100,450,100,active,\n", "third.csv")
    await run_import(db_sessions, directory, third)
    assert (await accounts(db_sessions))["4000002"].email is None


async def test_new_account_needs_a_password(db_sessions, directory, tmp_path):
    path = write(
        tmp_path,
        HEADER + "\n"
        "5000001,pw,+79000000001,Москва,Домашний 100,450,0,active\n"
        "5000002,,+79000000002,Москва,Домашний 100,450,0,active\n",
    )

    with pytest.raises(SubscriberImportError) as caught:
        await run_import(db_sessions, directory, path)

    assert caught.value.errors == ["line 3: password is empty, and account 5000002 is new"]
    assert await count(db_sessions, Account) == 0


async def test_a_bad_row_leaves_earlier_data_untouched(db_sessions, directory, tmp_path):
    good = write(tmp_path, HEADER + "\n6000001,pw,+79000000001,Москва,Домашний 100,450,10,active\n", "good.csv")
    await run_import(db_sessions, directory, good)

    mixed = write(
        tmp_path,
        HEADER + "\n"
        "6000001,pw,+79000000001,Москва,Домашний 100,450,999,active\n"
        "6000002,pw,+79000000002,Москва,Домашний 100,450,0,activ\n",
        "mixed.csv",
    )
    with pytest.raises(SubscriberImportError):
        await run_import(db_sessions, directory, mixed)

    stored = await accounts(db_sessions)
    assert list(stored) == ["6000001"]
    assert stored["6000001"].balance == Decimal("10.00")


async def test_trust_payment_import_is_not_duplicated(db_sessions, directory, tmp_path):
    path = write(
        tmp_path,
        HEADER + ",trust_payment_used_at\n7000001,pw,+79000000001,Москва,Домашний 100,450,0,blocked,2026-11-03T10:00\n",
    )
    assert (await run_import(db_sessions, directory, path)).trust_payments == 1
    assert (await run_import(db_sessions, directory, path)).trust_payments == 0
    assert await count(db_sessions, TrustPayment) == 1


async def test_big_file_reports_progress(db_sessions, directory, tmp_path):
    cities = [c.name for c in directory.cities]
    lines = [HEADER]
    for i in range(2000):
        lines.append(
            f"{8000000 + i},pw{i},+7900{i:07d},{cities[i % len(cities)]},Домашний 100,450,{i % 900}.50,active"
        )
    path = write(tmp_path, "\n".join(lines) + "\n")
    calls: list[tuple[int, int]] = []

    report = await run_import(db_sessions, directory, path, progress=lambda done, total: calls.append((done, total)), progress_every=500)

    assert calls == [(500, 2000), (1000, 2000), (1500, 2000), (2000, 2000)]
    assert (report.rows, report.created) == (2000, 2000)
    assert await count(db_sessions, Account) == 2000
    stored = await accounts(db_sessions)
    assert verify_password(stored["8001999"].password_hash, "pw1999", INSECURE_FAST)
    assert stored["8000007"].city == cities[7]
