"""The import read in byte ranges by worker processes: line numbers, CRLF, BOM, quoted
newlines (detected, then the file is read in one piece), the fast row path agreeing
with the field parsers, the phone check agreeing with phonenumbers, and the
PostgreSQL COPY that runs during validation still writing nothing for a bad file."""

from __future__ import annotations

import io
import random
from datetime import datetime, timezone
from decimal import Decimal

import phonenumbers
import pytest

import billing.csv_ranges as csv_ranges
from billing.csv_ranges import split_lines
from billing.importer import SubscriberImportError
from billing.models import Account
from billing.phone_check import is_valid_plus7
from billing.subscriber_file import _parse_row, parse_phone, parse_subscriber_lines, read_subscriber_file
from billing.subscriber_scan import RowRules, ScannedChunk, scan_range, scan_rows
from tests.billing.test_importer import accounts, count, run_import, write
from tests.billing.test_password_formats import django_pbkdf2

HEADER = "account,password,password_hash,phone,city,tariff,monthly_fee,balance,status,email,next_charge_date"
HASH = django_pbkdf2("x", salt="s1")


@pytest.fixture
def small_ranges(monkeypatch):
    """Ranges of a few hundred bytes, so that a small file has many."""
    monkeypatch.setattr(csv_ranges, "RANGE_BYTES", 300)


def good_row(i: int, **fields) -> str:
    values = {
        "account": str(4000000 + i), "password": "", "password_hash": HASH, "phone": f"+7900{i:07d}",
        "city": "Томск", "tariff": "Домашний 100", "monthly_fee": "450.00", "balance": f"{i}.50",
        "status": "active", "email": "", "next_charge_date": "",
    }  # fmt: skip
    values.update(fields)
    return ",".join(values[name] for name in HEADER.split(","))


def in_memory(text: str, directory):
    """The reference: the whole text parsed in this process, read as a file is read."""
    return parse_subscriber_lines(io.StringIO(text, newline=""), directory, processes=1)


def outcome(parse):
    try:
        return parse()
    except SubscriberImportError as error:
        return error.errors


# -- phones -------------------------------------------------------------------------------------


def test_phone_check_agrees_with_phonenumbers_on_every_four_digit_prefix():
    rng = random.Random(11)
    for prefix in range(10_000):
        for _ in range(2):
            value = f"+7{prefix:04d}{rng.randrange(10**6):06d}"
            number = phonenumbers.PhoneNumber(country_code=7, national_number=int(value[2:]))
            assert is_valid_plus7(value) == phonenumbers.is_valid_number(number), value


@pytest.mark.parametrize(
    "value, valid",
    [
        ("+79001234567", True),  # RU mobile
        ("+74951234567", True),  # RU fixed line (Moscow)
        ("+77012345678", True),  # KZ mobile: +7 is shared
        ("+79300050000", True),  # 930005…: one of the ranges inside 9300…
        ("+79300065000", False),  # 930006 5…: outside them
        ("+73000000000", False),  # no RU area 300
        ("+70123456789", False),  # a leading zero
        ("+76123456789", False),  # neither RU nor KZ
    ],
)
def test_invalid_numbers_are_still_refused(value, valid):
    if valid:
        assert parse_phone(value) == value
    else:
        with pytest.raises(ValueError, match="is not a valid phone number"):
            parse_phone(value)


# -- byte ranges ------------------------------------------------------------------------------


def test_ranges_cover_the_file_and_number_its_lines(tmp_path, small_ranges):
    rows = [good_row(i) for i in range(40)]
    path = write(tmp_path, "\ufeff" + HEADER + "\r\n" + "\r\n".join(rows) + "\r\n")
    split = split_lines(path)
    assert split.header == HEADER  # no BOM, no line end
    data = path.read_bytes()
    assert split.ranges[0].start == data.index(b"\n") + 1
    assert len(split.ranges) > 5
    for before, after in zip(split.ranges, split.ranges[1:]):
        assert before.start + before.size == after.start
        assert data[after.start - 1 : after.start] == b"\n"
        assert after.first_line == before.first_line + data[before.start : after.start].count(b"\n")
    last = split.ranges[-1]
    assert last.start + last.size == len(data)


@pytest.mark.parametrize(
    "text",
    [
        HEADER + "\r" + good_row(1) + "\r",  # old Mac line ends: csv counts lines the other way
        HEADER + "\n" + good_row(1) + "\r" + good_row(2) + "\n",  # one bare \r inside
        '"account",' + HEADER.split(",", 1)[1] + "\n" + good_row(1) + "\n",  # a quoted header
        HEADER,  # a header alone, without a line end
    ],
)
def test_files_the_line_count_might_misread_are_not_cut(tmp_path, text):
    assert split_lines(write(tmp_path, text)) is None


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_parts_give_what_the_whole_file_gives(tmp_path, directory, small_ranges, eol, bom):
    rows = [good_row(i) for i in range(60)]
    rows[10] = good_row(10, balance="\"1 200,50\"", phone="8 900 000-00-10", city=" уфа ")  # the slow path, valid
    rows[20] = ""  # blank lines are skipped but counted
    rows[21] = ",,,,,,,,,,"
    rows[30] = good_row(30, tariff='"Домашний, 300"', email="a@example.com", next_charge_date="2026-12-01")
    text = bom + HEADER + eol + eol.join(rows) + eol
    path = write(tmp_path, text)
    whole = in_memory(text.removeprefix("\ufeff"), directory)
    for processes in (1, 2):
        assert read_subscriber_file(path, directory, processes=processes) == whole
    assert [row.line for row in whole.rows][:3] == [2, 3, 4] and whole.rows[-1].line == 61

    bad = rows[:]
    bad[5] = good_row(5, city="Атлантида")
    bad[44] = good_row(44, monthly_fee="-1")
    bad[58] = good_row(3)  # a repeated account, parts apart
    text = bom + HEADER + eol + eol.join(bad) + eol
    errors = outcome(lambda: read_subscriber_file(write(tmp_path, text, "bad.csv"), directory, processes=2))
    assert errors == outcome(lambda: in_memory(text.removeprefix("\ufeff"), directory))
    assert [e.split(":")[0] for e in errors] == ["line 7", "line 46", "line 60"]


@pytest.mark.parametrize("where", [3, 17, 35])
def test_a_quoted_newline_is_noticed_and_the_file_read_in_one_piece(tmp_path, directory, small_ranges, where):
    rows = [good_row(i) for i in range(40)]
    rows[where] = good_row(where, tariff='"Домашний\n100"')
    rows[where + 2] = good_row(where + 2, status="sleeping")  # its line number counts the quoted newline
    text = HEADER + "\n" + "\n".join(rows) + "\n"
    errors = outcome(lambda: read_subscriber_file(write(tmp_path, text), directory, processes=2))
    assert errors == outcome(lambda: in_memory(text, directory))
    assert errors[0].startswith(f"line {where + 5}: status 'sleeping'")

    del rows[where + 2]
    text = HEADER + "\n" + "\n".join(rows) + "\n"
    parsed = read_subscriber_file(write(tmp_path, text, "good.csv"), directory, processes=2)
    assert parsed == in_memory(text, directory)
    assert parsed.rows[where].tariff == "Домашний\n100"


def test_a_range_ending_inside_quotes_or_holding_a_quoted_newline_says_so(tmp_path, directory):
    path = write(tmp_path, HEADER + "\n" + good_row(1, tariff='"Домашний\n100"') + "\n" + good_row(2) + "\n")
    rules = RowRules({name: i for i, name in enumerate(HEADER.split(","))}, ",", directory)
    split = split_lines(path, range_bytes=10)  # one line a range
    first, second = split.ranges[0], split.ranges[1]
    assert scan_range(str(path), first, rules).unsafe  # ends inside the quoted tariff
    whole = csv_ranges.ByteRange(first.start, first.size + second.size, first.first_line)
    assert scan_range(str(path), whole, rules).unsafe  # a record of two lines
    assert not scan_range(str(path), split.ranges[-1], rules).unsafe


# -- the fast path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"email": "a@example.com", "next_charge_date": "2026-12-01"},
        {"next_charge_date": "20261201"},  # ISO basic format: date.fromisoformat takes it
        {"balance": "-0", "monthly_fee": "0"},
        {"balance": "9999999999.99"},
        {"balance": "10000000000"},
        {"balance": "1.5", "monthly_fee": "450.5"},
        {"monthly_fee": "-0"},
        {"monthly_fee": "+5"},
        {"balance": "٤٥٠"},  # Arabic-Indic digits: Decimal reads them
        {"account": "٤٠٠٠٠٠١"},
        {"phone": "+7٩٠٠١٢٣٤٥٦٧"},
        {"phone": "+79300065000"},
        {"phone": " +79001234567"},
        {"city": "  ВЛАДИВОСТОК "},
        {"tariff": " Домашний 100 "},
        {"tariff": "Tab\there"},
        {"tariff": "x" * 121},
        {"status": " Blocked"},
        {"email": "a b@example.com"},
        {"email": "a\u00a0b@example.com"},
        {"email": " a@example.com"},
        {"email": "x" * 200 + "@a"},
        {"next_charge_date": " 2026-12-01"},
        {"next_charge_date": "2026-02-30"},
        {"password_hash": " " + HASH},
        {"password_hash": "md5$abc"},
        {"password_hash": ""},
        {"password": "plain", "password_hash": ""},
        {"password": "plain"},
    ],
)
def test_the_fast_path_accepts_and_refuses_what_the_field_parsers_do(directory, fields):
    names = HEADER.split(",")
    cells = good_row(7, **fields).split(",") if "\t" not in fields.get("tariff", "") else None
    if cells is None:
        cells = [fields.get(name, good_row(7).split(",")[i]) for i, name in enumerate(names)]
    rules = RowRules({name: i for i, name in enumerate(names)}, ",", directory, want_rows=True)
    chunk = scan_rows([(9, cells)], rules)
    row, problems = _parse_row(9, dict(zip(names, cells)), directory)
    if problems:
        assert chunk.errors == ["line 9: " + "; ".join(problems)] and chunk.rows == []
    else:
        assert chunk.errors == [] and chunk.rows == [row]
        assert chunk.accounts == [row.account] and chunk.lines == [9]


# -- the import ---------------------------------------------------------------------------------


def file_of(rows: list[str]) -> str:
    return HEADER + ",trust_payment_used_at\n" + "\n".join(row + "," for row in rows) + "\n"


async def test_a_bad_row_in_a_late_part_writes_nothing(db_sessions, directory, tmp_path, small_ranges):
    rows = [good_row(i) for i in range(80)]
    rows[77] = good_row(77, phone="+73000000000")
    with pytest.raises(SubscriberImportError) as caught:
        await run_import(db_sessions, directory, write(tmp_path, file_of(rows)), workers=2)
    assert caught.value.errors == ["line 79: phone '+73000000000' is not a valid phone number"]
    assert await count(db_sessions, Account) == 0

    rows[77] = good_row(2)
    with pytest.raises(SubscriberImportError) as caught:
        await run_import(db_sessions, directory, write(tmp_path, file_of(rows)), workers=2)
    assert caught.value.errors == ["line 79: account 4000002 already appears on line 4"]
    assert await count(db_sessions, Account) == 0


async def test_parts_with_every_kind_of_row_import_alike(db_sessions, directory, tmp_path, small_ranges):
    rows = [good_row(i) for i in range(60)]
    rows[5] = good_row(5, password="plain-5", password_hash="")
    rows[25] = good_row(25, tariff='"Tab\tand back\\slash"', password_hash=django_pbkdf2("y", salt="a\\b"))
    rows[26] = good_row(26, tariff='"Домашний\n100"')  # the file is read again in one piece
    rows[45] = good_row(45, balance='"1 200,50"', email="z@example.com", next_charge_date="2026-12-01")
    text = file_of(rows)
    text = text.replace(good_row(50) + ",", good_row(50) + ",2026-11-05")  # a trust payment
    report = await run_import(db_sessions, directory, write(tmp_path, text), workers=2)
    assert (report.rows, report.created, report.updated, report.trust_payments) == (60, 60, 0, 1)

    stored = await accounts(db_sessions)
    assert stored["4000025"].tariff == "Tab\tand back\\slash"
    assert stored["4000025"].password_hash == django_pbkdf2("y", salt="a\\b")
    assert stored["4000026"].tariff == "Домашний\n100"
    assert stored["4000045"].balance == Decimal("1200.50") and stored["4000045"].email == "z@example.com"
    assert stored["4000005"].password_hash.startswith("$argon2")
    assert stored["4000059"].phone == "+79000000059" and stored["4000059"].balance == Decimal("59.50")

    again = await run_import(db_sessions, directory, write(tmp_path, text), workers=2, now=datetime(2026, 11, 21, tzinfo=timezone.utc))
    # Only the plain password is written again (a new salt each time, as before).
    assert (again.created, again.updated, again.unchanged) == (0, 1, 59)


def test_a_chunk_without_rows_is_empty():
    assert ScannedChunk().copy == b"" and not ScannedChunk().unsafe


async def test_dry_run_reads_parts_too(db_sessions, directory, tmp_path, small_ranges):
    from billing.importer import check_subscribers

    rows = [good_row(i) for i in range(50)]
    rows[12] = good_row(12, tariff='"Домашний\n100"')  # read again in one piece
    assert await check_subscribers(db_sessions, directory, write(tmp_path, file_of(rows)), workers=2) == 50
    rows[40] = good_row(40, password_hash="")  # no password for a new account
    with pytest.raises(SubscriberImportError) as caught:
        await check_subscribers(db_sessions, directory, write(tmp_path, file_of(rows), "b.csv"), workers=2)
    assert caught.value.errors == ["line 43: password is empty, and account 4000040 is new"]
    assert await count(db_sessions, Account) == 0
