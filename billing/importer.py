"""Import subscribers from a CSV file: validate everything (worker processes each read
and check their own part of a large file: billing/subscriber_scan.py), then upsert by
account number in one transaction, writing only rows that differ from the database. A
file with any bad row imports nothing.

Hashes the provider's billing keeps (``password_hash``: argon2, bcrypt, PBKDF2) are
imported as they are — the nightly sync of 750k accounts hashes nothing. Plain
passwords are hashed before the upsert (on PostgreSQL after the COPY, in the
transaction, which then holds only its staging table), in a process pool over every core
(argon2 is slow on purpose), reporting progress every ``progress_every`` rows; pick
``profile=BULK`` for large files: those hashes are upgraded to the standard profile at
each subscriber's first login (see billing/passwords.py).

PostgreSQL loads through COPY into a temporary table — started while the workers
still validate, fed each part's COPY text as it is checked, and rolled back if any
part has a problem — and one ``INSERT … ON CONFLICT … WHERE … IS DISTINCT FROM``
upsert; other databases read the current rows in chunks and write the new and the
changed ones.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import aclosing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.models import Account, TrustPayment
from billing.months import city_tz, period_of
from billing.passwords import STANDARD, HashProfile
from billing.port import TrustPolicy
from reference.directory import Directory
from billing.sql import money
from billing.subscriber_file import (
    SubscriberFile,
    SubscriberImportError,
    SubscriberRow,
    optional_columns,
    read_subscriber_file,
)
from billing.subscriber_scan import COPY_NULL, RESTART, STAGING_COLUMNS, SubscriberScan, Tally

__all__ = ["ImportReport", "SubscriberImportError", "check_subscribers", "import_subscribers", "write_subscribers"]

Progress = Callable[[int, int], None]
CHUNK = 1000  # rows per statement / per IN (...) look-up


@dataclass(frozen=True)
class ImportReport:
    rows: int
    created: int
    updated: int
    trust_payments: int  # grants recorded from trust_payment_used_at
    seconds: float
    unchanged: int = 0  # rows equal to what the database holds: not written

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


async def import_subscribers(
    sessions: async_sessionmaker[AsyncSession],
    directory: Directory,
    path: Path | str,
    *,
    progress: Progress | None = None,
    progress_every: int = 1000,
    profile: HashProfile = STANDARD,
    workers: int | None = None,
    trust_policy: TrustPolicy = TrustPolicy(),
    now: datetime | None = None,
) -> ImportReport:
    """Validate ``path`` and upsert its subscribers.

    Raises SubscriberImportError (every bad line listed, nothing written).
    ``progress(done, total)`` is called every ``progress_every`` rows and at the end
    of the hashing; the database write follows in one transaction.
    """
    if await _dialect(sessions) == "postgresql":
        return await _import_streaming(
            sessions,
            directory,
            path,
            progress=progress,
            every=max(1, progress_every),
            profile=profile,
            workers=workers,
            trust_policy=trust_policy,
            now=now or datetime.now(timezone.utc),
        )
    subscribers = await asyncio.to_thread(read_subscriber_file, path, directory, processes=workers)
    return await write_subscribers(
        sessions,
        directory,
        subscribers,
        progress=progress,
        progress_every=progress_every,
        profile=profile,
        workers=workers,
        trust_policy=trust_policy,
        now=now,
    )


async def check_subscribers(
    sessions: async_sessionmaker[AsyncSession], directory: Directory, path: Path | str, *, workers: int | None = None
) -> int:
    """``--dry-run``: everything ``import_subscribers`` checks, nothing written.
    Returns the number of rows; raises SubscriberImportError."""
    scan = await asyncio.to_thread(SubscriberScan, path, directory, processes=workers, want_copy=False)
    tally = await asyncio.to_thread(Tally.of, scan.chunks())
    tally.raise_if_errors()
    await _check_new_accounts_have_passwords(sessions, tally.special)
    return tally.count


async def _dialect(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        return session.bind.dialect.name


async def _import_streaming(
    sessions: async_sessionmaker[AsyncSession],
    directory: Directory,
    path: Path | str,
    *,
    progress: Progress | None,
    every: int,
    profile: HashProfile,
    workers: int | None,
    trust_policy: TrustPolicy,
    now: datetime,
) -> ImportReport:
    """PostgreSQL: the COPY into the staging table runs while the workers still
    validate — each part of the file is sent as soon as it is checked, as the COPY
    text the worker made. A problem anywhere stops the sending; the transaction
    then rolls back, so a file with a bad row still writes nothing. ``seconds`` in
    the report counts from the end of the validation (what the write adds to it)."""
    scan = await asyncio.to_thread(SubscriberScan, path, directory, processes=workers)
    async with sessions() as session, session.begin():
        raw = await _create_staging(session)
        tally = Tally()
        # After a RESTART (the file read again in one piece, see SubscriberScan) the
        # staging table holds void rows: the parts are kept and copied afresh.
        again: list[bytes] = []
        restarted = False

        async def checked_parts():
            nonlocal restarted
            async with aclosing(scan.achunks()) as chunks:  # stops the workers if the COPY fails
                async for chunk in chunks:
                    if chunk is RESTART:
                        restarted = True
                        tally.reset()
                    elif tally.add(chunk) and chunk.copy:
                        if restarted:
                            again.append(chunk.copy)
                        else:
                            yield chunk.copy

        parts = checked_parts()
        try:
            await raw.copy_to_table("import_accounts", source=parts, **COPY_TEXT)
        finally:
            await parts.aclose()
        if restarted:
            await raw.execute("TRUNCATE import_accounts")
            await raw.copy_to_table("import_accounts", source=_aiter(again), **COPY_TEXT)
        validated = time.perf_counter()
        tally.raise_if_errors()

        special = tally.special
        await _check_new_accounts_have_passwords(sessions, special)
        plain = [row for row in special if row.password is not None]
        hashes = await _hash_passwords(plain, profile, workers, progress, every, already_done=tally.count - len(plain))
        if plain:
            await raw.copy_records_to_table(
                "import_accounts", columns=STAGING_COLUMNS, records=(_staging_record(r, h) for r, h in zip(plain, hashes))
            )
        created, updated = await _merge_staging(raw, optional_columns(scan.rules.columns), now)
        trusted = [row for row in special if row.trust_payment_used_at is not None]
        ids = await _ids_of(session, [row.account for row in trusted])
        granted = await _record_trust_payments(session, directory, trusted, ids, trust_policy)
    return ImportReport(
        rows=tally.count,
        created=created,
        updated=updated,
        unchanged=tally.count - created - updated,
        trust_payments=granted,
        seconds=time.perf_counter() - validated,
    )


COPY_TEXT = {"columns": STAGING_COLUMNS, "format": "text", "null": COPY_NULL}  # what subscriber_scan makes


async def _aiter(items):
    for item in items:
        yield item


async def write_subscribers(
    sessions: async_sessionmaker[AsyncSession],
    directory: Directory,
    subscribers: SubscriberFile,
    *,
    progress: Progress | None = None,
    progress_every: int = 1000,
    profile: HashProfile = STANDARD,
    workers: int | None = None,
    trust_policy: TrustPolicy = TrustPolicy(),
    now: datetime | None = None,
) -> ImportReport:
    """The second half of import_subscribers, for rows already validated."""
    started = time.perf_counter()
    now = now or datetime.now(timezone.utc)
    rows = subscribers.rows
    await _check_new_accounts_have_passwords(sessions, rows)
    hashes = await _hash_passwords(rows, profile, workers, progress, max(1, progress_every))

    async with sessions() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            created, updated, ids = await _upsert_by_copy(session, rows, hashes, subscribers.optional_columns, now)
        else:
            created, updated, ids = await _upsert_in_chunks(session, rows, hashes, subscribers.optional_columns, now)
        granted = await _record_trust_payments(session, directory, rows, ids, trust_policy)

    return ImportReport(
        rows=len(rows),
        created=created,
        updated=updated,
        unchanged=len(rows) - created - updated,
        trust_payments=granted,
        seconds=time.perf_counter() - started,
    )


def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _check_new_accounts_have_passwords(
    sessions: async_sessionmaker[AsyncSession], rows: Sequence[SubscriberRow]
) -> None:
    """A row without any password may only update an existing account."""
    without = [row for row in rows if row.password is None and row.password_hash is None]
    if not without:
        return
    async with sessions() as session:
        existing = await _ids_of(session, [row.account for row in without])
    missing = [
        f"line {row.line}: password is empty, and account {row.account} is new"
        for row in without
        if row.account not in existing
    ]
    if missing:
        raise SubscriberImportError(missing)


async def _ids_of(session: AsyncSession, numbers: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(numbers):
        result = await session.execute(select(Account.number, Account.id).where(Account.number.in_(chunk)))
        found.update({number: account_id for number, account_id in result.all()})
    return found


# -- writing: what both paths write, and how each finds what changed ------------------------
ALWAYS_WRITTEN = ("phone", "city", "tariff", "monthly_fee", "balance", "status")


def _written_columns(optional: frozenset[str]) -> tuple[str, ...]:
    """Columns an existing account takes from the file (absent optional columns keep
    the database's values)."""
    return ALWAYS_WRITTEN + tuple(name for name in ("email", "next_charge_date") if name in optional)


async def _upsert_in_chunks(
    session: AsyncSession,
    rows: Sequence[SubscriberRow],
    hashes: Sequence[str | None],
    optional: frozenset[str],
    now: datetime,
) -> tuple[int, int, dict[str, int]]:
    """Any database: read what is there, insert the new, update only the changed."""
    columns = _written_columns(optional)
    current: dict[str, dict] = {}
    for chunk in _chunks([row.account for row in rows]):
        result = await session.execute(
            select(Account.number, Account.id, Account.password_hash, *(getattr(Account, c) for c in columns)).where(
                Account.number.in_(chunk)
            )
        )
        current.update({r.number: r._asdict() for r in result.all()})
    new = [(row, h) for row, h in zip(rows, hashes) if row.account not in current]
    changed = []
    for row, h in zip(rows, hashes):
        before = current.get(row.account)
        if before is None:
            continue
        values = _changed_account(before["id"], row, h, optional, now)
        if any(values[c] != before[c] for c in columns) or (h is not None and h != before["password_hash"]):
            changed.append(values)
    ids = {number: values["id"] for number, values in current.items()}
    for chunk in _chunks(new):
        result = await session.execute(
            insert(Account).returning(Account.id, Account.number), [_new_account(row, h, now) for row, h in chunk]
        )
        ids.update({number: account_id for account_id, number in result.all()})
    for chunk in _chunks(changed):
        await session.execute(update(Account), chunk)
    return len(new), len(changed), ids



async def _upsert_by_copy(
    session: AsyncSession,
    rows: Sequence[SubscriberRow],
    hashes: Sequence[str | None],
    optional: frozenset[str],
    now: datetime,
) -> tuple[int, int, dict[str, int]]:
    """PostgreSQL, for rows already in memory: COPY them into the staging table, then
    the one upsert (see _merge_staging)."""
    raw = await _create_staging(session)
    await raw.copy_records_to_table(
        "import_accounts", columns=STAGING_COLUMNS, records=(_staging_record(r, h) for r, h in zip(rows, hashes))
    )
    created, updated = await _merge_staging(raw, optional, now)
    with_trust = [row.account for row in rows if row.trust_payment_used_at is not None]
    ids = await _ids_of(session, with_trust)
    return created, updated, ids


def _staging_record(row: SubscriberRow, password_hash: str | None) -> tuple:
    r = row
    return (r.account, password_hash, r.phone, r.email, r.city, r.tariff, r.monthly_fee, r.balance, r.status, r.next_charge_date)


async def _create_staging(session: AsyncSession):
    """A temporary staging table (asyncpg's COPY is the fastest way in); returns the
    raw asyncpg connection of the session's transaction."""
    # Through SQLAlchemy first, so the statement opens the session's transaction
    # (ON COMMIT DROP would drop the table at once in autocommit); the raw asyncpg
    # connection then works inside that same transaction.
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE import_accounts ("
            " number varchar(20) PRIMARY KEY, password_hash varchar(200), phone varchar(20), email varchar(200),"
            " city varchar(60), tariff varchar(120), monthly_fee numeric(12, 2), balance numeric(12, 2),"
            " status varchar(10), next_charge_date date) ON COMMIT DROP"
        )
    )
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection  # the asyncpg connection


async def _merge_staging(raw, optional: frozenset[str], now: datetime) -> tuple[int, int]:
    """One INSERT … ON CONFLICT that writes only rows that differ from what the table
    holds; returns (created, updated), counted in the database (not a row each back)."""
    columns = _written_columns(optional)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    theirs = ", ".join(f"accounts.{c}" for c in columns)
    ours = ", ".join(f"EXCLUDED.{c}" for c in columns)
    record = await raw.fetchrow(
        "WITH written AS ("
        "INSERT INTO accounts (number, password_hash, phone, email, city, tariff, monthly_fee, balance, status,"
        " next_charge_date, created_at, updated_at)"
        # NOT NULL is checked on the proposed row before the conflict: a row that
        # keeps its password proposes '' (only existing accounts may: checked before).
        " SELECT number, COALESCE(password_hash, ''), phone, email, city, tariff, monthly_fee, balance, status,"
        " next_charge_date, $1, $1 FROM import_accounts"
        " ON CONFLICT (number) DO UPDATE SET"
        f" {assignments}, password_hash = COALESCE(NULLIF(EXCLUDED.password_hash, ''), accounts.password_hash),"
        " updated_at = EXCLUDED.updated_at"
        f" WHERE ({theirs}, accounts.password_hash) IS DISTINCT FROM"
        f" ({ours}, COALESCE(NULLIF(EXCLUDED.password_hash, ''), accounts.password_hash))"
        " RETURNING (xmax = 0) AS inserted)"
        " SELECT count(*) FILTER (WHERE inserted) AS created, count(*) FILTER (WHERE NOT inserted) AS updated"
        " FROM written",
        now,
    )
    return record["created"], record["updated"]


async def _hash_passwords(
    rows: Sequence[SubscriberRow],
    profile: HashProfile,
    workers: int | None,
    progress: Progress | None,
    every: int,
    *,
    already_done: int = 0,
) -> list[str | None]:
    """One hash per row: an imported ``password_hash`` as it is, a plain password
    hashed (argon2 in a process pool over every core), None to keep the current one.
    ``already_done``: rows of the file not given here, needing no hashing (progress)."""
    plain = [index for index, row in enumerate(rows) if row.password is not None]
    hashes: list[str | None] = [row.password_hash for row in rows]
    total = len(rows) + already_done
    if not plain:
        if progress is not None:
            progress(total, total)
        return hashes
    loop = asyncio.get_running_loop()
    done = total - len(plain)
    processes = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=processes) as pool:
        for start in range(0, len(plain), every):
            batch = plain[start : start + every]
            # A few tasks per worker and batch: one task per password would cost more
            # in inter-process traffic than argon2's BULK profile costs.
            parts = [part for i in range(processes) if (part := batch[i::processes])]
            results = await asyncio.gather(
                *(loop.run_in_executor(pool, _hash_many, profile, [rows[i].password for i in part]) for part in parts)
            )
            for part, hashed in zip(parts, results):
                for index, value in zip(part, hashed):
                    hashes[index] = value
            done += len(batch)
            if progress is not None:
                progress(done, total)
    return hashes


def _hash_many(profile: HashProfile, passwords: list[str]) -> list[str]:
    return [profile.hasher.hash(password) for password in passwords]


def _new_account(row: SubscriberRow, password_hash: str, now: datetime) -> dict:
    return {
        "number": row.account,
        "password_hash": password_hash,
        "phone": row.phone,
        "email": row.email,
        "city": row.city,
        "tariff": row.tariff,
        "monthly_fee": row.monthly_fee,
        "balance": row.balance,
        "status": row.status,
        "next_charge_date": row.next_charge_date,
        "created_at": now,
        "updated_at": now,
    }


def _changed_account(
    account_id: int, row: SubscriberRow, password_hash: str | None, optional: frozenset[str], now: datetime
) -> dict:
    values = {
        "id": account_id,
        "phone": row.phone,
        "city": row.city,
        "tariff": row.tariff,
        "monthly_fee": row.monthly_fee,
        "balance": row.balance,
        "status": row.status,
        "updated_at": now,
    }
    if password_hash is not None:
        values["password_hash"] = password_hash
    if "email" in optional:
        values["email"] = row.email
    if "next_charge_date" in optional:
        values["next_charge_date"] = row.next_charge_date
    return values


async def _record_trust_payments(
    session: AsyncSession,
    directory: Directory,
    rows: Sequence[SubscriberRow],
    ids: dict[str, int],
    policy: TrustPolicy,
) -> int:
    wanted = {}
    for row in rows:
        if row.trust_payment_used_at is None:
            continue
        account_id = ids[row.account]
        period = period_of(row.trust_payment_used_at, city_tz(directory, row.city))
        wanted[(account_id, period)] = {
            "account_id": account_id,
            "period": period,
            "amount": money(row.monthly_fee * policy.amount_multiplier),
            "fee": money(policy.fee),
            "granted_at": row.trust_payment_used_at.astimezone(timezone.utc),
            "valid_until": (row.trust_payment_used_at + timedelta(days=policy.days)).astimezone(timezone.utc),
        }
    keys = list(wanted)
    for chunk in _chunks(keys):
        result = await session.execute(
            select(TrustPayment.account_id, TrustPayment.period).where(
                tuple_(TrustPayment.account_id, TrustPayment.period).in_(chunk)
            )
        )
        for account_id, period in result.all():
            wanted.pop((account_id, period), None)  # the billing already knows this grant
    fresh = list(wanted.values())
    for chunk in _chunks(fresh):
        await session.execute(insert(TrustPayment), chunk)
    return len(fresh)
