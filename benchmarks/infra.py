"""What the benchmarks run on: machine info, throwaway PostgreSQL schemas and Redis
prefixes, free ports, percentiles."""

from __future__ import annotations

import asyncio
import math
import os
import platform
import socket
import sys
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/15"
SECRET_KEY = "benchmark-secret-key-that-is-long-enough-0123456789"


@dataclass(frozen=True)
class Backend:
    """A database + state store pair."""

    name: str  # "sqlite+memory" | "postgres+redis"
    database_url: str
    redis_url: str | None
    redis_prefix: str


def machine_info() -> list[tuple[str, str]]:
    cpu_model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return [
        ("CPUs", f"{os.cpu_count()} (usable by this process: {usable})"),
        ("CPU model", cpu_model or platform.processor() or "unknown"),
        ("Python", f"{platform.python_implementation()} {sys.version.split()[0]}"),
        ("platform", platform.platform()),
        ("event loop", event_loop_name()),
    ]


def event_loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio (uvloop not installed)"
    return "uvloop (as uvicorn uses in production)"


def run_async(coro):
    """Run with uvloop when available, like uvicorn[standard] serves the app."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def postgres_reachable(pg_url: str = PG_URL) -> str | None:
    """None when PostgreSQL answers, else why not."""
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(_dsn(pg_url)), 5)
        await conn.close()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(error).__name__}: {error}"
    return None


async def redis_reachable(redis_url: str = REDIS_URL) -> str | None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    finally:
        await client.aclose()
    return None


def _dsn(pg_url: str) -> str:
    return pg_url.replace("postgresql+asyncpg://", "postgresql://")


@asynccontextmanager
async def postgres_redis_backend(pg_url: str = PG_URL, redis_url: str = REDIS_URL) -> AsyncIterator[Backend]:
    """A fresh PostgreSQL schema and a random Redis prefix; both removed afterwards."""
    import asyncpg
    import redis.asyncio as aioredis

    tag = uuid.uuid4().hex[:10]
    schema = f"bench_{tag}"
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    prefix = f"bench:{tag}:"
    try:
        yield Backend(
            name="postgres+redis",
            database_url=f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}",
            redis_url=redis_url,
            redis_prefix=prefix,
        )
    finally:
        conn = await asyncpg.connect(_dsn(pg_url))
        try:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()
        client = aioredis.from_url(redis_url)
        try:
            batch = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
            for start in range(0, len(batch), 1000):
                await client.delete(*batch[start : start + 1000])
        finally:
            await client.aclose()


def sqlite_memory_backend(directory: str) -> Backend:
    return Backend(
        name="sqlite+memory",
        database_url=f"sqlite+aiosqlite:///{os.path.join(directory, 'bench.db')}",
        redis_url=None,
        redis_prefix="bench:",
    )


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: list[float]) -> "Latency":
        ordered = sorted(seconds)
        return cls(
            count=len(ordered),
            p50=percentile(ordered, 0.50),
            p90=percentile(ordered, 0.90),
            p99=percentile(ordered, 0.99),
            max=ordered[-1] if ordered else float("nan"),
        )

    def ms(self) -> str:
        return f"p50 {self.p50 * 1e3:.1f} / p90 {self.p90 * 1e3:.1f} / p99 {self.p99 * 1e3:.1f} / max {self.max * 1e3:.1f} ms"


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its live descendants (Linux /proc): a
    gunicorn master's workers count too. Tells which side saturated."""
    own = _own_cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(_own_cpu_seconds(child) or 0.0 for child in descendants(pid))


def _own_cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def descendants(pid: int) -> list[int]:
    """Child processes, grandchildren and so on (Linux /proc/PID/task/*/children)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children", encoding="ascii") as children:
                    kids = [int(kid) for kid in children.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


async def redis_flush_count(url: str) -> int | None:
    """FLUSHDB + FLUSHALL calls the Redis server has seen. Test suites flush their
    Redis database; one doing so during a Redis benchmark wipes its conversations and
    locks, so the benchmark compares this before and after and says so."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        stats = await client.info("commandstats")
    except Exception:  # noqa: BLE001 - only a diagnostic
        return None
    finally:
        await client.aclose()
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("flushdb", "flushall"))
