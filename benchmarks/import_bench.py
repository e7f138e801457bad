"""The subscriber import at provider scale: a generated CSV of well-formed PBKDF2
``password_hash`` values (random salts and digests: the importer stores hashes as
they are and never verifies them, so computing real PBKDF2 would only slow the
generator), imported twice into a fresh database — the first run creates every
account, the re-run must write nothing. PostgreSQL: a fresh schema, dropped after;
SQLite: a file in the temp dir.

Rows written by the re-run are counted independently of the importer's own report:
on PostgreSQL every row version carries the id of the transaction that wrote it
(``xmin``), so rows newer than a transaction id taken before the re-run were written
by it; on SQLite the ``updated_at`` column is compared.
"""

from __future__ import annotations

import base64
import random
import string
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.infra import Backend

TARGET_FIRST_SECONDS = 60.0  # 1,000,000 rows on PostgreSQL
TARGET_RERUN_SECONDS = 30.0
TARGET_ROWS = 1_000_000
# Reference cities (reference/cities.toml) and their spelling in the file.
CITIES = [
    "Москва",
    "Уфа",
    "Томск",
    "Владивосток",
    "Нальчик",
    "Белгород",
    "Липецк",
    "Ставрополь",
]
HEADER = "account,password_hash,phone,city,tariff,monthly_fee,balance,status,email\n"
_SALT_CHARS = string.ascii_letters + string.digits


@dataclass(frozen=True)
class ImportRun:
    seconds: float  # wall time of import_subscribers: read + validate + write
    write_seconds: (
        float  # the importer's own figure: password check, hashing, the database write
        # (on PostgreSQL what the write adds after validation: the COPY runs during it)
    )
    created: int
    updated: int
    unchanged: int
    written_by_check: (
        int | None
    )  # rows the database says this run wrote (xmin / updated_at)

    def rows_per_second(self, rows: int) -> float:
        return rows / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class ImportFigures:
    backend: str
    rows: int
    file_mb: float
    generate_seconds: float
    first: ImportRun
    rerun: ImportRun

    @property
    def at_target_scale(self) -> bool:
        return self.rows >= TARGET_ROWS

    @property
    def first_met(self) -> bool | None:
        if self.backend != "postgres+redis" or not self.at_target_scale:
            return None
        return self.first.seconds < TARGET_FIRST_SECONDS

    @property
    def rerun_met(self) -> bool | None:
        writes_nothing = (
            self.rerun.created == 0
            and self.rerun.updated == 0
            and not self.rerun.written_by_check
        )
        if self.backend != "postgres+redis" or not self.at_target_scale:
            return writes_nothing
        return writes_nothing and self.rerun.seconds < TARGET_RERUN_SECONDS


def write_csv(path: Path, rows: int, seed: int = 20261130) -> None:
    """``rows`` subscribers, each with a PBKDF2 hash of its own random salt."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        batch: list[str] = []
        for n in range(rows):
            salt = "".join(rng.choices(_SALT_CHARS, k=22))
            digest = base64.b64encode(rng.randbytes(32)).decode()
            city = CITIES[n % len(CITIES)]
            balance = f"{rng.randint(-50_000, 500_000) / 100:.2f}"
            email = f"user{n}@example.com" if n % 3 == 0 else ""
            batch.append(
                f"{20_000_000 + n},pbkdf2_sha256$600000${salt}${digest},+79{n:09d},{city},Домашний 100,450.00,{balance},active,{email}\n"
            )
            if len(batch) == 10_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))


async def run(backend: Backend, workdir: Path, *, rows: int) -> ImportFigures:
    from billing.importer import import_subscribers
    from migrations.runner import upgrade
    from reference.directory import default_directory
    from storage import make_engine, make_sessionmaker

    path = workdir / f"subscribers-{rows}.csv"
    started = time.perf_counter()
    write_csv(path, rows)
    generate_seconds = time.perf_counter() - started
    engine = make_engine(backend.database_url)
    try:
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        directory = default_directory()

        async def once() -> ImportRun:
            marker = await _write_marker(engine)
            began = time.perf_counter()
            report = await import_subscribers(
                sessions, directory, path, progress_every=max(1000, rows // 10)
            )
            seconds = time.perf_counter() - began
            return ImportRun(
                seconds,
                report.seconds,
                report.created,
                report.updated,
                report.unchanged,
                await _written_since(engine, marker),
            )

        first = await once()
        rerun = await once()
    finally:
        await engine.dispose()
        file_mb = path.stat().st_size / 1e6
        path.unlink(missing_ok=True)
    return ImportFigures(backend.name, rows, file_mb, generate_seconds, first, rerun)


async def _write_marker(engine):
    """Something to tell the rows the next run writes from the ones already there."""
    from sqlalchemy import text

    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # The low 32 bits: what xmin holds.
            return (
                await conn.execute(
                    text("SELECT pg_current_xact_id()::text::bigint % 4294967296")
                )
            ).scalar_one()
        return (
            await conn.execute(text("SELECT max(updated_at) FROM accounts"))
        ).scalar_one()


async def _written_since(engine, marker) -> int | None:
    from sqlalchemy import text

    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return (
                await conn.execute(
                    text("SELECT count(*) FROM accounts WHERE xmin::text::bigint > :m"),
                    {"m": marker},
                )
            ).scalar_one()
        if marker is None:
            return (
                await conn.execute(text("SELECT count(*) FROM accounts"))
            ).scalar_one()
        return (
            await conn.execute(
                text("SELECT count(*) FROM accounts WHERE updated_at > :m"),
                {"m": marker},
            )
        ).scalar_one()


def describe(figures: ImportFigures) -> list[str]:
    lines = [
        f"  {figures.backend}: {figures.rows:,} rows with PBKDF2 password_hash ({figures.file_mb:.0f} MB CSV, generated in {figures.generate_seconds:.1f} s)"
    ]
    at_scale = figures.first_met is not None
    copy_meanwhile = " with the COPY meanwhile" if figures.backend.startswith("postgres") else ""
    for name, run_, met, target in (
        ("first run", figures.first, figures.first_met, f"< {TARGET_FIRST_SECONDS:.0f} s for {TARGET_ROWS:,}"),
        ("re-run   ", figures.rerun, figures.rerun_met,
         "writes nothing" + (f", < {TARGET_RERUN_SECONDS:.0f} s for {TARGET_ROWS:,}" if at_scale else "")),
    ):  # fmt: skip
        verdict = (
            "" if met is None else f" — target {target}: {'met' if met else 'MISSED'}"
        )
        check = (
            ""
            if run_.written_by_check is None
            else f"; the database shows {run_.written_by_check:,} rows written"
        )
        lines.append(
            f"    {name}: {run_.seconds:.1f} s ({run_.seconds - run_.write_seconds:.1f} s reading and validating{copy_meanwhile}, "
            f"{run_.write_seconds:.1f} s writing), {run_.rows_per_second(figures.rows):,.0f} rows/s; "
            f"{run_.created:,} new, {run_.updated:,} updated, {run_.unchanged:,} unchanged{check}{verdict}"
        )
    return lines
