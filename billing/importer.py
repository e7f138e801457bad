"""Import subscribers from a CSV file: validate everything, then upsert by account
number in one transaction. A file with any bad row imports nothing.

Hashing is the slow part (argon2 is slow on purpose), so it runs before the
transaction opens, in a thread pool (argon2-cffi releases the GIL), reporting
progress every ``progress_every`` rows. Pick ``profile=BULK`` for large files:
those hashes are upgraded to the standard profile at each subscriber's first
login (see billing/passwords.py).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select, tuple_, update
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
    read_subscriber_file,
)

__all__ = ["ImportReport", "SubscriberImportError", "import_subscribers", "write_subscribers"]

Progress = Callable[[int, int], None]
CHUNK = 1000  # rows per statement / per IN (...) look-up


@dataclass(frozen=True)
class ImportReport:
    rows: int
    created: int
    updated: int
    trust_payments: int  # grants recorded from trust_payment_used_at
    seconds: float

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
    subscribers = await asyncio.to_thread(read_subscriber_file, path, directory)
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

    existing = await _existing_ids(sessions, [row.account for row in rows])
    missing_passwords = [
        f"line {row.line}: password is empty, and account {row.account} is new"
        for row in rows
        if row.password is None and row.account not in existing
    ]
    if missing_passwords:
        raise SubscriberImportError(missing_passwords)

    hashes = await _hash_passwords(rows, profile, workers, progress, max(1, progress_every))

    new = [(row, h) for row, h in zip(rows, hashes) if row.account not in existing]
    old = [(row, h) for row, h in zip(rows, hashes) if row.account in existing]
    async with sessions() as session, session.begin():
        ids = dict(existing)
        for chunk in _chunks(new):
            result = await session.execute(
                insert(Account).returning(Account.id, Account.number),
                [_new_account(row, h, now) for row, h in chunk],
            )
            ids.update({number: account_id for account_id, number in result.all()})
        for chunk in _chunks(old):
            await session.execute(
                update(Account),
                [_changed_account(ids[row.account], row, h, subscribers.optional_columns, now) for row, h in chunk],
            )
        granted = await _record_trust_payments(session, directory, rows, ids, trust_policy)

    return ImportReport(
        rows=len(rows),
        created=len(new),
        updated=len(old),
        trust_payments=granted,
        seconds=time.perf_counter() - started,
    )


def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _existing_ids(sessions: async_sessionmaker[AsyncSession], numbers: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    async with sessions() as session:
        for chunk in _chunks(numbers):
            result = await session.execute(select(Account.number, Account.id).where(Account.number.in_(chunk)))
            found.update({number: account_id for number, account_id in result.all()})
    return found


async def _hash_passwords(
    rows: Sequence[SubscriberRow],
    profile: HashProfile,
    workers: int | None,
    progress: Progress | None,
    every: int,
) -> list[str | None]:
    hasher = profile.hasher
    loop = asyncio.get_running_loop()
    hashes: list[str | None] = []
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1, thread_name_prefix="argon2") as pool:
        for start in range(0, len(rows), every):
            batch = rows[start : start + every]
            futures = [
                loop.run_in_executor(pool, hasher.hash, row.password) if row.password is not None else None
                for row in batch
            ]
            pending = [f for f in futures if f is not None]
            done = iter(await asyncio.gather(*pending))
            hashes.extend(next(done) if f is not None else None for f in futures)
            if progress is not None:
                progress(len(hashes), len(rows))
    return hashes


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
