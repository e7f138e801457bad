"""The benchmark's own tools: the profile summary, the load generators (against the
bare echo endpoint, a second each), the generated subscriber file, Redis key kinds.
No speed is asserted here: speed targets live in ``make bench``."""

from __future__ import annotations

import asyncio
import random

import pytest

from benchmarks import http_bench, loadgen, profile_summary, scale_bench
from benchmarks.import_bench import write_csv
from benchmarks.scenarios import QUESTIONS, QUESTIONS_MIX, Outcome, Subscriber
from billing.passwords import hash_scheme
from billing.subscriber_file import read_subscriber_file
from reference.directory import default_directory

RAW = "\n".join(
    [
        # 6 samples: our engine inside SQLAlchemy inside asyncpg
        (
            "run (/venv/lib/python3.11/site-packages/uvicorn/server.py);handle (/repo/dialogs/engine.py);"
            "execute (/venv/lib/python3.11/site-packages/sqlalchemy/orm/session.py);"
            "fetch (/venv/lib/python3.11/site-packages/asyncpg/connection.py) 6"
        ),
        # 3 samples: the engine calling the standard library (counts for our code)
        (
            "run (/venv/lib/python3.11/site-packages/uvicorn/server.py);handle (/repo/dialogs/engine.py);"
            "uuid4 (/usr/lib/python3.11/uuid.py) 3"
        ),
        # 1 sample: only the event loop
        "run (/usr/lib/python3.11/asyncio/runners.py) 1",
        "not a stack line",
    ]
)


def test_profile_summary_attributes_each_sample_to_its_innermost_layer() -> None:
    lines = profile_summary.summarize(RAW)
    text = "\n".join(lines)
    assert lines[0].startswith("10 CPU samples")
    assert "60.0%  asyncpg" in text
    assert "30.0%  our code: dialogs" in text
    assert "10.0%  event loop / other" in text
    assert "90.0%  dialogs/engine.py:handle" in text  # inclusive
    assert "60.0%  dialogs/engine.py:handle → asyncpg" in text


def test_a_worker_thread_waiting_for_work_is_not_counted() -> None:
    waiting = (
        "_bootstrap (/usr/lib/python3.11/threading.py);"
        "_worker (/usr/lib/python3.11/concurrent/futures/thread.py) 7"
    )
    working = (
        "_bootstrap (/usr/lib/python3.11/threading.py);_worker (/usr/lib/python3.11/concurrent/futures/thread.py);"
        "run (/usr/lib/python3.11/concurrent/futures/thread.py);_run (/repo/storage/sqlite_appender.py) 3"
    )
    lines = profile_summary.summarize(f"{waiting}\n{working}")
    assert lines[0].startswith("3 CPU samples")
    assert "100.0%  our code: storage" in "\n".join(lines)


def test_short_paths_name_the_package() -> None:
    assert (
        profile_summary.short_path(
            "/x/.venv/lib/python3.11/site-packages/redis/client.py"
        )
        == "redis/client.py"
    )
    assert (
        profile_summary.short_path("/work/wt/bench/storage/engine.py")
        == "storage/engine.py"
    )
    assert (
        profile_summary.short_path("/usr/local/lib/python3.11/json/encoder.py")
        == "json/encoder.py"
    )


def test_redis_key_kinds_mask_ids() -> None:
    assert (
        scale_bench._key_kind("v:conv:webchat:3f2a9c1b5d7e4f60") == "v:conv:webchat:…"
    )
    assert scale_bench._key_kind("v:rate:webchat:12345") == "v:rate:webchat:…"


def test_generated_subscriber_file_is_valid_and_carries_pbkdf2_hashes(tmp_path) -> None:
    path = tmp_path / "subscribers.csv"
    write_csv(path, 300)
    parsed = read_subscriber_file(path, default_directory(), processes=1)
    assert len(parsed.rows) == 300
    assert len({row.account for row in parsed.rows}) == 300
    assert all(
        row.password is None and hash_scheme(row.password_hash) == "pbkdf2"
        for row in parsed.rows
    )
    assert (
        len({row.password_hash.split("$")[2] for row in parsed.rows}) == 300
    )  # a salt each


def test_questions_mix_asks_only_standalone_questions() -> None:
    sim = Subscriber(
        random.Random(1), lambda: "+7 900 000-00-00", Outcome(), QUESTIONS_MIX
    )
    asked: set[str] = set()
    for _ in range(30):
        message = sim.next_message()
        asked.add(message["text"])
        sim.took([])
    assert asked <= {question for question, _ in QUESTIONS}
    assert len(asked) > 3


@pytest.mark.parametrize("generator", ["wrk", "httpx"])
async def test_load_generators_drive_the_bare_echo(tmp_path, generator) -> None:
    if generator == "wrk" and not loadgen.wrk_path():
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    bodies = scale_bench.bodies()
    async with http_bench.running_echo(tmp_path, workers=1) as (base_url, _, _, _):
        if generator == "wrk":
            result = await asyncio.to_thread(
                loadgen.run_wrk,
                base_url,
                "/echo",
                ["a", "b"],
                bodies,
                connections=2,
                seconds=1,
            )
        else:
            result = await loadgen.run_httpx(
                base_url, "/echo", ["a", "b"], bodies, connections=2, seconds=1
            )
        # A wrong path would make every answer a 404: counted as errors, not requests.
        missing = await loadgen.run_httpx(
            base_url, "/nowhere", ["a"], bodies, connections=1, seconds=0.3
        )
    assert result.generator == generator
    assert result.requests > 0 and result.errors == 0
    assert 0 < result.p50 <= result.p99 <= result.max
    assert missing.requests == 0 and missing.errors > 0


async def test_paced_wrk_keeps_near_the_wanted_rate(tmp_path) -> None:
    """The half-of-max figure: wrk pausing between answers lands near the rate asked
    for (a bare echo answers in well under a millisecond, so the pause is the cycle)."""
    if not loadgen.wrk_path():
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    async with http_bench.running_echo(tmp_path, workers=1) as (base_url, _, _, _):
        result = await loadgen.paced(base_url, "/echo", ["a", "b"], scale_bench.bodies(), connections=4, rate=200, seconds=2)
    assert result is not None and result.errors == 0
    assert 120 <= result.per_second <= 260  # paced: far below the echo's thousands a second


@pytest.mark.redis
async def test_round_trip_counter_counts_network_sends_commands_and_sql(
    tmp_path,
) -> None:
    import uuid

    import redis.asyncio as aioredis
    from sqlalchemy import text

    from benchmarks.roundtrips import counting
    from storage import make_engine
    from tests.conftest import require_redis

    url = await require_redis()
    key = f"test:{uuid.uuid4().hex[:10]}:k"
    client = aioredis.from_url(url)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'count.db'}")
    try:
        await client.ping()  # connect outside the counted block
        with counting() as counter:
            await client.set(key, "1", px=10_000)
            await client.get(key)
            async with client.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.pttl(key)
                await pipe.execute()
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        await client.get(key)  # after the block: not counted
    finally:
        await client.delete(key)
        await client.aclose()
        await engine.dispose()
    assert counter.redis_sends == 3  # SET, GET, one pipeline
    assert counter.redis_commands == {"SET": 1, "GET": 1, "PIPELINE(GET+PTTL)": 1}
    assert sum(counter.sql.values()) >= 1
