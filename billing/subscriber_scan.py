"""Validating a subscriber file in parts, each part's result compact enough to cross
a process boundary cheaply (the importer's first half at provider scale).

Each part of the file (a byte range, see ``csv_ranges``) is parsed where it is read
— in a worker process for a large file — and comes back as a ``ScannedChunk``: the
problems found, the accounts with their line numbers (for the "already appears"
check, which needs the whole file), and the good rows as PostgreSQL COPY text, one
bytes object. Only rows that need more than that travel as ``SubscriberRow``: a plain
password to hash, no password at all, a trust payment. Pickling every row as a
dataclass both ways was a third of the import's CPU.

Rows of the usual shape (``+7`` phone, plain decimals, a known hash, …) take a fast
path that checks exactly what the field parsers check; anything else goes through
``_parse_row`` itself, so messages and edge cases stay those of
``billing/subscriber_file.py``.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from billing.csv_ranges import ByteRange, read_range, split_lines
from billing.passwords import KNOWN_HASH
from billing.phone_check import is_valid_plus7
from billing.subscriber_file import (
    _ACCOUNT,
    _E164_RU,
    _STATUSES,
    SubscriberRow,
    _parse_row,
)
from reference.directory import Directory

_PLAIN_MONEY = re.compile(r"-?[0-9]{1,10}(?:\.[0-9]{1,2})?")  # < 1e10, at most two places
_WHITESPACE = re.compile(r"\s")  # the same characters as str.isspace()
_CENT = Decimal("0.01")
# COPY text format: these characters must be escaped inside a value.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# NULL is the empty string (COPY … NULL ''), not \N: no value we copy can be empty
# (account, phone, city, tariff, amounts, status are checked non-empty; an empty
# email, date or hash means NULL), and a backslash-free NULL lets a whole part be
# checked for values that need escaping in one pass (see _copy_text).
COPY_NULL = ""
# The importer's staging table, in the order of the COPY text made here.
STAGING_COLUMNS = (
    "number", "password_hash", "phone", "email", "city", "tariff", "monthly_fee", "balance", "status", "next_charge_date"
)  # fmt: skip
COPY_FIELDS = len(STAGING_COLUMNS)


@dataclass
class ScannedChunk:
    errors: list[str] = field(default_factory=list)  # each "line N: …"
    accounts: list[str] = field(default_factory=list)  # of the good rows, in file order
    lines: list[int] = field(default_factory=list)  # their line numbers
    copy: bytes = b""  # COPY text of the good rows except those with a plain password
    special: list[SubscriberRow] = field(default_factory=list)  # plain/no password, trust payment
    rows: list[SubscriberRow] | None = None  # every good row, when asked for
    unsafe: bool = False  # the range cannot be parsed on its own: read the file in one piece


@dataclass(frozen=True)
class RowRules:
    """What a part needs to know to validate its rows: the header and the directory."""

    columns: dict[str, int]
    delimiter: str
    directory: Directory
    want_rows: bool = False  # materialise SubscriberRow objects (SQLite path, tests)
    want_copy: bool = True


def needs_more_than_copy(row: SubscriberRow) -> bool:
    return row.password is not None or row.password_hash is None or row.trust_payment_used_at is not None


class _FastRows:
    """The common row shape, checked with the same rules as the field parsers; None
    sends the row to ``_parse_row`` (which reports the problem, or accepts an
    unusual but valid spelling)."""

    def __init__(self, rules: RowRules) -> None:
        c = rules.columns
        self.directory = rules.directory
        self.account, self.phone, self.city, self.tariff = c["account"], c["phone"], c["city"], c["tariff"]
        self.fee, self.balance, self.status = c["monthly_fee"], c["balance"], c["status"]
        self.password, self.password_hash = c.get("password"), c.get("password_hash")
        self.email, self.next_charge, self.used_at = c.get("email"), c.get("next_charge_date"), c.get("trust_payment_used_at")
        # Values that repeat across a file (cities, tariffs, fees, statuses, dates):
        # each spelling is checked once. False: not of the fast shape.
        self._cities: dict[str, str | bool] = {}
        self._tariffs: dict[str, str | bool] = {}
        self._fees: dict[str, bool] = {}
        self._statuses: dict[str, str | bool] = {}
        self._dates: dict[str, str | bool] = {}

    def __call__(self, cells: list[str]) -> tuple | None:
        """(account, password_hash, phone, email, city, tariff, monthly_fee, balance,
        status, next_charge_date) as strings in the staging table's order, "" for
        NULL — joined by tabs, a COPY text line once _copy_text checked it."""
        account = cells[self.account]
        if not _ACCOUNT.fullmatch(account):
            return None
        if self.password is not None and cells[self.password]:
            return None  # a plain password: hashing costs far more than the slow path
        if self.password_hash is None:
            return None
        password_hash = cells[self.password_hash]
        # A match has no surrounding spaces, so this is hash_scheme(value.strip()).
        if not password_hash or KNOWN_HASH.fullmatch(password_hash) is None:
            return None  # no password (to keep the current one), or a bad one
        if self.used_at is not None and cells[self.used_at].strip():
            return None  # a trust payment: timezone arithmetic, rare
        phone = cells[self.phone]
        if not _E164_RU.fullmatch(phone) or not is_valid_plus7(phone):
            return None
        city = self._cached(self._cities, cells[self.city], self._city)
        tariff = self._cached(self._tariffs, cells[self.tariff], self._tariff)
        status = self._cached(self._statuses, cells[self.status], self._status)
        fee = cells[self.fee]
        fee_ok = self._fees.get(fee)
        if fee_ok is None:
            fee_ok = self._fees[fee] = bool(_PLAIN_MONEY.fullmatch(fee)) and not fee.startswith("-")
        balance = cells[self.balance]
        if city is False or tariff is False or status is False or not fee_ok or not _PLAIN_MONEY.fullmatch(balance):
            return None
        email = cells[self.email] if self.email is not None else ""
        if email and (len(email) > 200 or "@" not in email or _WHITESPACE.search(email)):
            return None  # (no whitespace: strip() would change nothing)
        next_charge = ""
        if self.next_charge is not None and (raw := cells[self.next_charge]):
            next_charge = self._cached(self._dates, raw, self._date)
            if next_charge is False:
                return None
        return (account, password_hash, phone, email, city, tariff, fee, balance, status, next_charge)

    @staticmethod
    def _cached(cache: dict, raw: str, check):
        value = cache.get(raw)
        if value is None:
            value = cache[raw] = check(raw)
        return value

    def _city(self, raw: str) -> str | bool:
        city = self.directory.city(raw)
        return city.name if city is not None else False

    @staticmethod
    def _tariff(raw: str) -> str | bool:
        value = raw.strip()
        return value if value and len(value) <= 120 else False

    @staticmethod
    def _status(raw: str) -> str | bool:
        value = raw.strip().lower()
        return value if value in _STATUSES else False

    @staticmethod
    def _date(raw: str) -> str | bool:
        if raw != raw.strip():
            return False
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            return False


def _row_from_fast(line: int, fields: tuple) -> SubscriberRow:
    account, password_hash, phone, email, city, tariff, fee, balance, status, next_charge = fields
    return SubscriberRow(
        line=line,
        account=account,
        password=None,
        phone=phone,
        city=city,
        tariff=tariff,
        monthly_fee=Decimal(fee).quantize(_CENT),
        balance=Decimal(balance).quantize(_CENT),
        status=status,
        email=email or None,
        next_charge_date=date.fromisoformat(next_charge) if next_charge else None,
        password_hash=password_hash,
    )


def copy_line(row: SubscriberRow) -> str:
    """A row parsed the slow way, as a COPY text line (every value escaped)."""
    values = (
        row.account, row.password_hash, row.phone, row.email, row.city, row.tariff, str(row.monthly_fee),
        str(row.balance), row.status, row.next_charge_date.isoformat() if row.next_charge_date else None,
    )  # fmt: skip
    return "\t".join(COPY_NULL if value is None else value.translate(_COPY_ESCAPES) for value in values)


def _copy_text(fast: list[tuple]) -> str:
    """COPY text lines of fast-path rows. Their values hardly ever hold a tab,
    newline or backslash (a PBKDF2 salt or a tariff may): the joined text is checked
    once, and only a part with such a value is escaped value by value."""
    if not fast:
        return ""
    text = "\n".join(map("\t".join, fast)) + "\n"
    if (
        "\\" in text or "\r" in text
        or text.count("\n") != len(fast) or text.count("\t") != len(fast) * (COPY_FIELDS - 1)
    ):  # fmt: skip
        text = "".join("\t".join(value.translate(_COPY_ESCAPES) for value in fields) + "\n" for fields in fast)
    return text


def scan_rows(numbered: Iterable[tuple[int, list[str]]], rules: RowRules) -> ScannedChunk:
    """Validate non-blank rows given as (line number, cells)."""
    chunk = ScannedChunk(rows=[] if rules.want_rows else None)
    fast = _FastRows(rules)
    width = len(rules.columns)
    columns = rules.columns.items()
    errors, accounts, lines, special, rows = chunk.errors, chunk.accounts, chunk.lines, chunk.special, chunk.rows
    fast_copy: list[tuple] = []  # fast-path rows, made into COPY text at the end
    slow_copy: list[str] = []
    for line, cells in numbered:
        if len(cells) != width:
            errors.append(f"line {line}: expected {width} fields, found {len(cells)}")
            continue
        fields = fast(cells)
        if fields is not None:
            accounts.append(fields[0])
            lines.append(line)
            if rules.want_copy:
                fast_copy.append(fields)
            if rows is not None:
                rows.append(_row_from_fast(line, fields))
            continue
        row, problems = _parse_row(line, {name: cells[index] for name, index in columns}, rules.directory)
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        accounts.append(row.account)
        lines.append(line)
        if needs_more_than_copy(row):
            special.append(row)
        if rules.want_copy and row.password is None:  # a plain password is copied once hashed
            slow_copy.append(copy_line(row) + "\n")
        if rows is not None:
            rows.append(row)
    if fast_copy or slow_copy:
        chunk.copy = (_copy_text(fast_copy) + "".join(slow_copy)).encode("utf-8")
    return chunk


def _blank(cells: list[str]) -> bool:
    # The first cell usually decides; a row of empty or space-only cells is skipped.
    return not (cells and (cells[0].strip() or any(cell.strip() for cell in cells)))


# -- a byte range in a worker ------------------------------------------------------------------

_rules_in_worker: RowRules | None = None


def _start_worker(rules: RowRules) -> None:
    global _rules_in_worker
    _rules_in_worker = rules


def scan_range(path: str, byte_range: ByteRange, rules: RowRules | None = None) -> ScannedChunk:
    rules = rules or _rules_in_worker
    try:
        text = read_range(path, byte_range).decode("utf-8")
    except UnicodeDecodeError:
        return ScannedChunk(unsafe=True)  # the one-piece reading reports it as it always did
    if text.endswith("\n"):
        # An empty sentinel line: a range that ends inside a quoted field then shows as
        # a record of two lines (the field swallows the sentinel), caught below.
        text += "\n"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=rules.delimiter)
    first = byte_range.first_line - 1
    numbered: list[tuple[int, list[str]]] = []
    seen = 0
    try:
        for cells in reader:
            if reader.line_num != seen + 1:
                return ScannedChunk(unsafe=True)  # a quoted newline: cutting at lines is wrong
            seen += 1
            if not _blank(cells):
                numbered.append((first + seen, cells))
    except csv.Error:
        return ScannedChunk(unsafe=True)  # the one-piece reading raises it as it always did
    return scan_rows(numbered, rules)


# -- the whole file ----------------------------------------------------------------------------

RESTART = ScannedChunk(unsafe=True)  # the chunks before it are void: the file follows again


class Tally:
    """The chunks of one file put together: every problem (a repeated account needs
    the whole file), the rows counted, the rows the writer handles one by one."""

    def __init__(self, *, keep_rows: bool = False) -> None:
        self.keep_rows = keep_rows
        self.reset()

    @classmethod
    def of(cls, chunks, *, keep_rows: bool = False) -> "Tally":
        """All of a scan's chunks put together (a ``RESTART`` voids those before it)."""
        tally = cls(keep_rows=keep_rows)
        for chunk in chunks:
            if chunk is RESTART:
                tally.reset()
            else:
                tally.add(chunk)
        return tally

    def reset(self) -> None:
        self.errors: list[str] = []
        self.rows: list[SubscriberRow] = []
        self.special: list[SubscriberRow] = []
        self.count = 0
        self._seen: set[str] = set()  # the accounts so far, while none repeats
        self._parts: list[tuple[list[str], list[int]]] = []  # (accounts, lines) of those chunks
        self._first_line_of: dict[str, int] | None = None  # once one repeats: line by line

    def add(self, chunk: ScannedChunk) -> bool:
        """False when the file has a problem so far (nothing will be written)."""
        errors = self.errors
        errors.extend(chunk.errors)
        if self._first_line_of is None:
            seen = self._seen
            before = len(seen)
            seen.update(chunk.accounts)  # a set, at C speed: the common case
            if len(seen) - before == len(chunk.accounts):
                self._parts.append((chunk.accounts, chunk.lines))
            else:
                # A repeated account: which lines, a map of every account so far says.
                self._first_line_of = {}
                for accounts, lines in self._parts:
                    self._first_line_of.update(zip(accounts, lines))
                self._seen, self._parts = set(), []
        if self._first_line_of is not None:
            first_line_of = self._first_line_of
            for account, line in zip(chunk.accounts, chunk.lines):
                first = first_line_of.setdefault(account, line)
                if first != line:
                    errors.append(f"line {line}: account {account} already appears on line {first}")
        if errors:
            return False  # nothing will be written: only the problems matter now
        self.count += len(chunk.accounts)
        self.special.extend(chunk.special)
        if self.keep_rows:
            self.rows.extend(chunk.rows)
        return True

    def raise_if_errors(self) -> None:
        from billing.subscriber_file import SubscriberImportError, _line_number

        if self.errors:
            self.errors.sort(key=_line_number)
            raise SubscriberImportError(self.errors)


class SubscriberScan:
    """Validation of a file in parts: ``chunks()`` (or ``achunks()`` from async code)
    gives them in file order, parsed by ``processes`` workers. When the file cannot be
    cut at line ends (see csv_ranges), or a part finds it could not, ``RESTART`` and
    then the file read in one piece follow."""

    def __init__(
        self, path: Path | str, directory: Directory, *, processes: int | None = None,
        want_rows: bool = False, want_copy: bool = True,
    ) -> None:  # fmt: skip
        self.path = str(path)
        self.directory = directory
        self.want_rows, self.want_copy = want_rows, want_copy
        self.split = split_lines(self.path)
        self.processes = processes
        if self.split is not None:
            self.rules = self._rules(self.split.header)  # raises on header problems
        else:
            # Header problems are still reported before any row is parsed.
            self.rules = self._rules(self._serial_header())

    def _rules(self, header_line: str | None) -> RowRules:
        from billing.subscriber_file import SubscriberImportError, _delimiter, _read_header

        if header_line is None or not header_line.strip():
            raise SubscriberImportError(["line 1: the header is missing"])
        delimiter = _delimiter(header_line)
        columns, errors = _read_header(next(csv.reader([header_line], delimiter=delimiter)))
        if errors:
            raise SubscriberImportError(errors)
        return RowRules(columns, delimiter, self.directory, self.want_rows, self.want_copy)

    def _serial_header(self) -> str | None:
        from billing.subscriber_file import reading_errors

        with reading_errors(), open(self.path, encoding="utf-8-sig", newline="") as handle:
            return next(handle, None)

    def serial_chunks(self) -> list[ScannedChunk]:
        """The file in one piece, as csv reads it, in this process."""
        from billing.subscriber_file import CHUNK_ROWS, reading_errors

        with reading_errors(), open(self.path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=self.rules.delimiter)
            next(reader)  # the header, checked already
            numbered = list(numbered_rows(reader, reader.line_num + 1))
        return [scan_rows(numbered[i : i + CHUNK_ROWS], self.rules) for i in range(0, len(numbered), CHUNK_ROWS)]

    def _submit(self) -> tuple[ThreadPoolExecutor | ProcessPoolExecutor, list[Future]]:
        ranges = self.split.ranges
        processes = worker_count(self.processes, len(ranges))
        if processes > 1:
            pool = ProcessPoolExecutor(max_workers=processes, initializer=_start_worker, initargs=(self.rules,))
            return pool, [pool.submit(scan_range, self.path, r) for r in ranges]
        # One thread besides the caller's: an async caller COPYs while it parses.
        pool = ThreadPoolExecutor(max_workers=1)
        return pool, [pool.submit(scan_range, self.path, r, self.rules) for r in ranges]

    def chunks(self) -> Iterator[ScannedChunk]:
        if self.split is None:
            yield from self.serial_chunks()
            return
        pool, futures = self._submit()
        try:
            for future in futures:
                chunk = future.result()
                if chunk.unsafe:
                    pool.shutdown(cancel_futures=True)
                    yield RESTART
                    yield from self.serial_chunks()
                    return
                yield chunk
        finally:
            pool.shutdown(cancel_futures=True)

    async def achunks(self):
        import asyncio

        if self.split is None:
            for chunk in await asyncio.to_thread(self.serial_chunks):
                yield chunk
            return
        pool, futures = self._submit()
        try:
            for future in futures:
                chunk = await asyncio.wrap_future(future)
                if chunk.unsafe:
                    pool.shutdown(wait=False, cancel_futures=True)
                    yield RESTART
                    for chunk in await asyncio.to_thread(self.serial_chunks):
                        yield chunk
                    return
                yield chunk
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def worker_count(processes: int | None, parts: int) -> int:
    return max(1, min(processes or os.cpu_count() or 1, parts))


def numbered_rows(reader, start: int) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every non-blank record; ``start``: the first record's line."""
    for cells in reader:
        line = start
        start = reader.line_num + 1
        if not _blank(cells):
            yield line, cells
