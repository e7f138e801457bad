"""The provider-scale import: hashes imported as they are, unchanged rows not written,
validation spread over processes, --dry-run — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from billing.importer import SubscriberImportError, check_subscribers
from billing.passwords import INSECURE_FAST, hash_password
from billing.sql import SqlBilling
from billing.subscriber_file import parse_subscriber_lines
from tests.billing.test_importer import accounts, run_import, write
from tests.billing.test_password_formats import bcrypt_hash, django_pbkdf2

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
HASH_HEADER = "account,password_hash,phone,city,tariff,monthly_fee,balance,status"


async def test_hashes_from_the_billing_are_imported_as_they_are_and_log_in(db_sessions, directory, tmp_path):
    rows = {
        "5000001": hash_password("argon-pass", INSECURE_FAST),
        "5000002": bcrypt_hash("bcrypt-pass"),
        "5000003": django_pbkdf2("pbkdf2-pass"),
    }
    # argon2 hashes carry commas: a CSV quotes such a field
    body = "".join(f'{n},"{h}",+7900000{n[-4:]},Москва,Домашний 100,450,100,active\n' for n, h in rows.items())
    report = await run_import(db_sessions, directory, write(tmp_path, HASH_HEADER + "\n" + body))
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    stored = await accounts(db_sessions)
    assert {n: stored[n].password_hash for n in rows} == rows

    billing = SqlBilling(db_sessions, directory, password_profile=INSECURE_FAST, clock=lambda: NOW)
    for number, password in (("5000001", "argon-pass"), ("5000002", "bcrypt-pass"), ("5000003", "pbkdf2-pass")):
        assert await billing.check_password(number, password)
        assert not await billing.check_password(number, password + "x")
    upgraded = await accounts(db_sessions)
    assert upgraded["5000002"].password_hash.startswith("$argon2id$")  # bcrypt replaced at login
    assert upgraded["5000003"].password_hash.startswith("$argon2id$")


async def test_running_the_same_file_again_writes_nothing(db_sessions, directory, tmp_path):
    body = "".join(
        f"{5100000 + i},{django_pbkdf2('p', salt=f's{i}')},+7900100{i:04d},Уфа,Домашний 100,450,{i}.50,active\n"
        for i in range(30)
    )
    path = write(tmp_path, HASH_HEADER + ",email\n" + body.replace(",active\n", ",active,\n"))
    first = await run_import(db_sessions, directory, path)
    before = {n: a.updated_at for n, a in (await accounts(db_sessions)).items()}
    again = await run_import(db_sessions, directory, path, now=NOW.replace(hour=13))
    assert (first.created, again.created, again.updated, again.unchanged) == (30, 0, 0, 30)
    assert {n: a.updated_at for n, a in (await accounts(db_sessions)).items()} == before

    changed = path.read_text().replace(",Уфа,Домашний 100,450,3.50,", ",Уфа,Домашний 100,450,999.00,")
    third = await run_import(db_sessions, directory, write(tmp_path, changed, "changed.csv"), now=NOW.replace(hour=14))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 29)


def test_a_hash_we_cannot_verify_is_a_bad_row(directory):
    lines = [
        HASH_HEADER + ",password",
        f"5200001,md5$abc,+79001000001,Уфа,Домашний 100,450,0,active,",
        f"5200002,{django_pbkdf2('x')},+79001000002,Уфа,Домашний 100,450,0,active,plain-too",
    ]
    with pytest.raises(SubscriberImportError) as caught:
        parse_subscriber_lines(lines, directory)
    assert caught.value.errors == [
        "line 2: password_hash is not an argon2, bcrypt or PBKDF2 hash",
        "line 3: give password or password_hash, not both",
    ]


def test_large_files_are_validated_in_worker_processes_with_the_same_result(directory):
    header = "account,password,phone,city,tariff,monthly_fee,balance,status"
    good = [f"{6000000 + i},p{i},+7900200{i % 10000:04d},Томск,Домашний 100,450,1,active" for i in range(25_000)]
    bad = good[:]
    bad[7] = bad[7].replace("Томск", "Атлантида")
    bad[24_990] = bad[24_990].replace(",450,", ",-1,")
    bad.append(good[3])  # a repeated account, seen across chunks
    serial = parse_subscriber_lines([header, *good], directory, processes=1)
    parallel = parse_subscriber_lines([header, *good], directory, processes=2)
    assert serial == parallel and len(parallel.rows) == 25_000
    with pytest.raises(SubscriberImportError) as one:
        parse_subscriber_lines([header, *bad], directory, processes=1)
    with pytest.raises(SubscriberImportError) as two:
        parse_subscriber_lines([header, *bad], directory, processes=2)
    assert one.value.errors == two.value.errors
    assert [e.split(":")[0] for e in two.value.errors] == ["line 9", "line 24992", "line 25002"]


async def test_dry_run_checks_everything_and_writes_nothing(db_sessions, directory, tmp_path):
    good = write(tmp_path, HASH_HEADER + f"\n5300001,{django_pbkdf2('x')},+79001000001,Уфа,Домашний 100,450,0,active\n")
    assert await check_subscribers(db_sessions, directory, good) == 1
    assert await accounts(db_sessions) == {}
    new_without_password = write(tmp_path, HASH_HEADER + "\n5300002,,+79001000002,Уфа,Домашний 100,450,0,active\n", "b.csv")
    with pytest.raises(SubscriberImportError) as caught:
        await check_subscribers(db_sessions, directory, new_without_password)
    assert caught.value.errors == ["line 2: password is empty, and account 5300002 is new"]
