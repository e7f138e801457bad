"""Reading and validating a subscriber CSV file (the importer's first half).

Format (UTF-8, BOM allowed; comma, semicolon or tab separated, detected from the
header; header names case-insensitive):

    account,password|password_hash,phone,city,tariff,monthly_fee,balance,status
    [,email][,next_charge_date][,trust_payment_used_at]

* account: digits only, 5–20 characters; one row per account in a file.
* password: plain text from the contract memo; hashed on import.
* password_hash: the hash the provider's billing keeps — argon2, bcrypt or PBKDF2
  (``pbkdf2_sha256$iterations$salt$hash``) — imported as it is, verified at login with
  its own algorithm and replaced by our argon2 then. The header has ``password``,
  ``password_hash`` or both; a row fills at most one of them. Both empty keep the
  current password of an existing account and are an error for a new one.
* phone: anything ``phonenumbers`` understands with Russia as the default region;
  stored as E.164.
* city: one of the reference cities (reference/cities.toml), any case.
* monthly_fee, balance: decimals with ``.`` or ``,`` and at most two places;
  spaces as thousands separators are allowed. The fee cannot be negative.
* status: active | blocked | frozen.
* email (optional): empty for none.
* next_charge_date (optional): ISO date, ``2026-12-01``; empty for none.
* trust_payment_used_at (optional): ISO date or date-time; a naive value is the
  subscriber's city local time. Records a trust payment for that local month.

An optional column that is absent from the header leaves existing accounts' values
as they are; present but empty clears it (except trust_payment_used_at, which only
ever adds).
"""

from __future__ import annotations

import csv
import re
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import phonenumbers

from billing.passwords import hash_scheme
from billing.phone_check import is_valid_plus7
from billing.port import AccountStatus
from reference.directory import Directory

REQUIRED_COLUMNS = ("account", "phone", "city", "tariff", "monthly_fee", "balance", "status")
PASSWORD_COLUMNS = ("password", "password_hash")  # at least one of them
OPTIONAL_COLUMNS = ("email", "next_charge_date", "trust_payment_used_at")
PARALLEL_FROM_ROWS = 20_000  # smaller files are parsed in this process
CHUNK_ROWS = 25_000  # rows a worker process validates at a time
MAX_LISTED_ERRORS = 50

_ACCOUNT = re.compile(r"\d{5,20}")
_E164_RU = re.compile(r"\+7\d{10}")
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_MONEY_LIMIT = Decimal("1e10")  # Numeric(12, 2)
_STATUSES = tuple(status.value for status in AccountStatus)


class SubscriberImportError(Exception):
    """The file cannot be imported; nothing was written. ``errors`` has one entry per
    problem, each starting with ``line N:``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        shown = self.errors[:MAX_LISTED_ERRORS]
        more = len(self.errors) - len(shown)
        lines = [f"{len(self.errors)} problem(s) in the subscriber file; nothing was imported:", *shown]
        if more:
            lines.append(f"... and {more} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class SubscriberRow:
    line: int
    account: str
    password: str | None  # plain text to hash; None: see password_hash
    phone: str  # E.164
    city: str  # canonical name
    tariff: str
    monthly_fee: Decimal
    balance: Decimal
    status: str
    email: str | None = None
    next_charge_date: date | None = None
    trust_payment_used_at: datetime | None = None  # aware
    password_hash: str | None = None  # imported as it is; both None: keep the current password


@dataclass(frozen=True)
class SubscriberFile:
    rows: tuple[SubscriberRow, ...]
    # optional columns present in the header: only these overwrite existing values
    optional_columns: frozenset[str]


# -- field parsers: each returns the value or raises ValueError with the reason ---------


def parse_account(value: str) -> str:
    value = value.strip()
    if not _ACCOUNT.fullmatch(value):
        raise ValueError(f"account {value!r} must be 5 to 20 digits")
    return value


def parse_phone(value: str) -> str:
    value = value.strip()
    if _E164_RU.fullmatch(value):
        # The form billing exports almost always use: skip the general parser (3x the
        # cost); is_valid_plus7 answers as phonenumbers.is_valid_number does.
        return value if is_valid_plus7(value) else _invalid_phone(value)
    try:
        number = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        _invalid_phone(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _invalid_phone(value: str):
    raise ValueError(f"phone {value!r} is not a valid phone number")


def parse_money(value: str, column: str, *, allow_negative: bool = True) -> Decimal:
    cleaned = _SPACES.sub("", value).replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{column} {value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{column} {value!r} is not a number")
    if amount.as_tuple().exponent < -2:
        raise ValueError(f"{column} {value!r} has more than two decimal places")
    if abs(amount) >= _MONEY_LIMIT:
        raise ValueError(f"{column} {value!r} is too large")
    if amount < 0 and not allow_negative:
        raise ValueError(f"{column} {value!r} cannot be negative")
    return amount.quantize(Decimal("0.01"))


def parse_status(value: str) -> str:
    status = value.strip().lower()
    if status not in _STATUSES:
        raise ValueError(f"status {value!r} must be one of {', '.join(_STATUSES)}")
    return status


def parse_city(value: str, directory: Directory) -> str:
    city = directory.city(value)
    if city is None:
        raise ValueError(f"city {value!r} is not one of the provider's cities")
    return city.name


def parse_date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{column} {value!r} is not an ISO date (YYYY-MM-DD)") from None


def parse_used_at(value: str, tz) -> datetime:
    """ISO date or date-time; naive means the subscriber's local time."""
    value = value.strip()
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time())
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"trust_payment_used_at {value!r} is not an ISO date or date-time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def parse_email(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > 200 or "@" not in value or any(ch.isspace() for ch in value):
        raise ValueError(f"email {value!r} is not an e-mail address")
    return value


def parse_tariff(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("tariff is empty")
    if len(value) > 120:
        raise ValueError("tariff is longer than 120 characters")
    return value


# -- the file -------------------------------------------------------------------------------


def _delimiter(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=counts.get)


def _read_header(cells: list[str]) -> tuple[dict[str, int], list[str]]:
    errors: list[str] = []
    names = [cell.strip().lower() for cell in cells]
    known = set(REQUIRED_COLUMNS) | set(PASSWORD_COLUMNS) | set(OPTIONAL_COLUMNS)
    for name in names:
        if name not in known:
            expected = ", ".join(REQUIRED_COLUMNS[:1] + PASSWORD_COLUMNS + REQUIRED_COLUMNS[1:] + OPTIONAL_COLUMNS)
            errors.append(f"line 1: unknown column {name!r} (expected {expected})")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        errors.append(f"line 1: column(s) repeated: {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if not any(name in names for name in PASSWORD_COLUMNS):
        missing.append("password (or password_hash)")
    if missing:
        errors.append(f"line 1: missing column(s): {', '.join(missing)}")
    return {name: index for index, name in enumerate(names)}, errors


def _parse_row(line: int, cells: dict[str, str], directory: Directory) -> tuple[SubscriberRow | None, list[str]]:
    problems: list[str] = []

    def field(parser, *args):
        try:
            return parser(*args)
        except ValueError as error:
            problems.append(str(error))
            return None

    account = field(parse_account, cells["account"])
    phone = field(parse_phone, cells["phone"])
    city = field(parse_city, cells["city"], directory)
    tariff = field(parse_tariff, cells["tariff"])
    monthly_fee = field(lambda v: parse_money(v, "monthly_fee", allow_negative=False), cells["monthly_fee"])
    balance = field(parse_money, cells["balance"], "balance")
    status = field(parse_status, cells["status"])
    email = field(parse_email, cells.get("email", ""))
    next_charge = cells.get("next_charge_date", "").strip()
    next_charge_date = field(parse_date, next_charge, "next_charge_date") if next_charge else None
    used_at_text = cells.get("trust_payment_used_at", "").strip()
    used_at = None
    if used_at_text:
        # Without a valid city the local time is unknown: check the format anyway
        # (the city error is reported too).
        city_info = directory.city(city) if city else None
        used_at = field(parse_used_at, used_at_text, city_info.tz if city_info else timezone.utc)
    password = cells.get("password", "")
    password_hash = cells.get("password_hash", "").strip()
    if password and password_hash:
        problems.append("give password or password_hash, not both")
    elif password_hash and hash_scheme(password_hash) is None:
        problems.append("password_hash is not an argon2, bcrypt or PBKDF2 hash")
    if problems:
        return None, problems
    return (
        SubscriberRow(
            line=line,
            account=account,
            password=password if password != "" else None,
            phone=phone,
            city=city,
            tariff=tariff,
            monthly_fee=monthly_fee,
            balance=balance,
            status=status,
            email=email,
            next_charge_date=next_charge_date,
            trust_payment_used_at=used_at,
            password_hash=password_hash or None,
        ),
        [],
    )


def parse_subscriber_lines(lines: Iterable[str], directory: Directory, *, processes: int | None = None) -> SubscriberFile:
    """Validate every row; raise SubscriberImportError listing all problems."""
    from billing.subscriber_scan import RowRules, numbered_rows, scan_rows, worker_count

    lines = iter(lines)
    header_line = next(lines, None)
    if header_line is None or not header_line.strip():
        raise SubscriberImportError(["line 1: the header is missing"])
    delimiter = _delimiter(header_line)

    def all_lines():
        yield header_line
        yield from lines

    reader = csv.reader(all_lines(), delimiter=delimiter)
    columns, errors = _read_header(next(reader))
    if errors:
        raise SubscriberImportError(errors)
    numbered = list(numbered_rows(reader, reader.line_num + 1))
    rules = RowRules(columns, delimiter, directory, want_rows=True, want_copy=False)
    chunks = [numbered[i : i + CHUNK_ROWS] for i in range(0, len(numbered), CHUNK_ROWS)]
    if len(numbered) >= PARALLEL_FROM_ROWS and processes != 1:
        # Lines given in memory (a file is read in parts by the workers themselves:
        # read_subscriber_file): each worker checks a chunk.
        with ProcessPoolExecutor(max_workers=worker_count(processes, len(chunks))) as pool:
            parsed = list(pool.map(scan_rows, chunks, [rules] * len(chunks)))
    else:
        parsed = [scan_rows(chunk, rules) for chunk in chunks]
    return _assemble(parsed, columns)


def _assemble(chunks, columns: dict[str, int]) -> SubscriberFile:
    from billing.subscriber_scan import Tally

    tally = Tally.of(chunks, keep_rows=True)
    tally.raise_if_errors()
    return SubscriberFile(
        rows=tuple(tally.rows),
        optional_columns=optional_columns(columns),
    )


def optional_columns(columns: dict[str, int]) -> frozenset[str]:
    return frozenset(name for name in OPTIONAL_COLUMNS if name in columns)


def _line_number(error: str) -> int:
    match = re.match(r"line (\d+):", error)
    return int(match.group(1)) if match else 0


def read_subscriber_file(path: Path | str, directory: Directory, *, processes: int | None = None) -> SubscriberFile:
    """``processes``: worker processes for validating a large file (default: every
    core); each reads and checks its own part of the file (billing/subscriber_scan.py)."""
    from billing.subscriber_scan import SubscriberScan

    scan = SubscriberScan(path, directory, processes=processes, want_rows=True, want_copy=False)
    return _assemble(scan.chunks(), scan.rules.columns)


@contextmanager
def reading_errors():
    """A file that is not UTF-8: one problem, no line number (as csv reading finds it)."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise SubscriberImportError([f"the file is not UTF-8 text ({error.reason} at byte {error.start})"]) from None
