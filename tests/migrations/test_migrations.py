"""The Alembic history builds exactly the schema the models describe, on SQLite and
PostgreSQL (schema-isolated through ``options=-csearch_path``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from alembic.script import ScriptDirectory

from migrations.metadata import target_metadata
from migrations.runner import alembic_config

REPO = Path(__file__).resolve().parents[2]
EXPECTED_TABLES = {
    "accounts",
    "payments",
    "trust_payments",
    "sms_outbox",
    "callback_requests",
    "handoffs",
    "transcript_messages",
    "delivery_receipts",
    "inbox_updates",
    "outbox_messages",
    "voluntary_blocks",
    "billing_audit",
    "agents",
    "agent_sessions",
    "audit_log",
    "handoff_notes",
    "conversation_ratings",
}


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, target_metadata)


def _table_names(connection):
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_the_models(db_engine):
    async with db_engine.connect() as conn:
        diff = await conn.run_sync(_diff)
        tables = await conn.run_sync(_table_names)
    assert diff == []
    assert EXPECTED_TABLES | {"alembic_version"} == tables


async def test_head_revision_is_recorded(db_engine):
    async with db_engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None and versions == [head]


def _index_predicates(connection) -> dict[str, str | None]:
    found = {}
    for table in ("callback_requests", "handoffs"):
        for index in inspect(connection).get_indexes(table):
            options = index.get("dialect_options", {})
            where = options.get("postgresql_where") or options.get("sqlite_where")
            found[index["name"]] = str(where) if where is not None else None
    return found


async def test_partial_unique_indexes_are_partial(db_engine):
    async with db_engine.connect() as conn:
        predicates = await conn.run_sync(_index_predicates)
    assert "queued" in predicates["uq_callback_open_per_phone_department"]
    assert "waiting" in predicates["uq_handoff_open_per_conversation"]


async def test_tables_land_in_the_search_path_schema_only(database_url, db_engine):
    if not database_url.startswith("postgresql"):
        return
    async with db_engine.connect() as conn:
        schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        rows = (
            await conn.execute(
                text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'")
            )
        ).scalars().all()
    assert schema.startswith("t_")
    assert schema in rows


async def test_upgrade_is_idempotent(db_engine):
    from migrations.runner import upgrade

    await upgrade(db_engine)
    async with db_engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


def _alembic(args: list[str], url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_command_line_downgrade_and_upgrade_with_database_url(database_url, db_engine):
    down = _alembic(["downgrade", "base"], database_url)
    assert down.returncode == 0, down.stderr
    async with db_engine.connect() as conn:
        assert await conn.run_sync(_table_names) == {"alembic_version"}
    await db_engine.dispose()

    up = _alembic(["upgrade", "head"], database_url)
    assert up.returncode == 0, up.stderr
    async with db_engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        assert EXPECTED_TABLES <= await conn.run_sync(_table_names)


def _current_in_process(url: str) -> str | None:
    from alembic import command

    from migrations.runner import alembic_config

    seen: list[str | None] = []
    config = alembic_config(url=url)
    config.print_stdout = lambda text, *args: seen.append(text % args if args else text)
    command.current(config)
    return " ".join(s for s in seen if s)


async def test_alembic_config_with_a_url_that_has_percent_escapes(database_url):
    # command.current runs env.py, which starts its own event loop: keep it off ours.
    output = await asyncio.to_thread(_current_in_process, database_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"{head} (head)" in output
