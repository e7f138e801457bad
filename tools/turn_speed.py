"""Where a web chat turn's time goes: ``DialogEngine.handle`` turns/s in-process on
SQLite + memory and PostgreSQL + Redis, Redis commands per turn (``INFO
commandstats`` deltas) and, with ``--profile``, a pyinstrument profile.

The mix is the cheap questions an outage brings in bulk: office hours for a city
and payment methods, one new conversation per two messages.

    PYTHONPATH=$PWD .venv/bin/python tools/turn_speed.py --turns 2000 [--profile] [--backends sqlite,postgres]

Redis is a private ``redis-server`` started for the run (so the command counts are
this run's only); PostgreSQL a throwaway schema of ``--pg-url``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.container import build_container
from benchmarks.engine_bench import settings_for
from benchmarks.infra import PG_URL, free_port, postgres_redis_backend, sqlite_memory_backend
from dialogs.messages import Inbound

QUESTIONS = (
    ("Какой режим работы офиса в Уфе?", "Уф"),
    ("Как оплатить интернет?", "оплат"),
)


async def redis_commands(url: str) -> dict[str, int]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def round_trips(url: str, engine, turns: int, concurrency: int) -> tuple[float, float]:
    """(client commands, commands run inside scripts) per turn, from MONITOR over a
    short extra run: each client command is one round trip (redis-py pipelines none
    of ours)."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    seen = {"client": 0, "lua": 0}
    started = asyncio.Event()

    async def listen(monitor) -> None:
        started.set()
        while True:
            command = await monitor.next_command()
            seen["lua" if command["client_type"] == "lua" else "client"] += 1

    try:
        async with client.monitor() as monitor:
            listener = asyncio.create_task(listen(monitor))
            await started.wait()
            await asyncio.sleep(0.2)
            await drive(engine, turns, concurrency)
            await asyncio.sleep(0.5)  # let the monitor stream catch up
            listener.cancel()
    finally:
        await client.aclose()
    return seen["client"] / turns, seen["lua"] / turns


async def drive(engine, turns: int, concurrency: int) -> tuple[float, int]:
    """Closed loop of ``concurrency`` subscribers; returns (seconds, unexpected answers)."""
    run = uuid.uuid4().hex[:8]
    left = turns
    unexpected = 0

    async def subscriber(worker: int) -> None:
        nonlocal left, unexpected
        serial = 0
        while left > 0:
            left -= 1
            serial += 1
            text, expect = QUESTIONS[serial % 2]
            result = await engine.handle(Inbound(
                channel="webchat", user_id=f"speed-{run}-{worker}-{serial // 2}",
                message_id=uuid.uuid4().hex, text=text,
            ))
            if not any(expect in reply.text for reply in result.replies):
                unexpected += 1

    begin = time.perf_counter()
    await asyncio.gather(*(subscriber(w) for w in range(concurrency)))
    return time.perf_counter() - begin, unexpected


async def measure(backend, workdir: Path, args) -> None:
    container = await build_container(settings_for(backend, workdir))
    try:
        await drive(container.engine, 200, args.concurrency)  # warm-up: imports, pools, caches
        before = await redis_commands(backend.redis_url) if backend.redis_url else {}
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005, async_mode="enabled")
            profiler.start()
        cpu_before = time.process_time()
        seconds, unexpected = await drive(container.engine, args.turns, args.concurrency)
        cpu = time.process_time() - cpu_before
        if profiler is not None:
            profiler.stop()
        # CPU per turn is the steadier figure on a shared machine: turns/s moves with
        # whatever else runs on the cores.
        print(f"{backend.name}: {args.turns / seconds:,.0f} turns/s, {cpu / args.turns * 1000:.2f} ms CPU per turn "
              f"({args.turns} turns in {seconds:.2f} s, {args.concurrency} at once; unexpected answers: {unexpected})")
        if backend.redis_url:
            after = await redis_commands(backend.redis_url)
            delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            # INFO itself is counted once in the delta.
            delta["info"] = delta.get("info", 0) - 1
            used = {k: v for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v > 0}
            total = sum(used.values())
            print(f"  Redis commands executed per turn (INFO commandstats, script internals included): "
                  f"{total / args.turns:.2f}: " + ", ".join(f"{k} {v / args.turns:.2f}" for k, v in used.items()))
            sent, inside = await round_trips(backend.redis_url, container.engine, 200, args.concurrency)
            print(f"  Redis round trips per turn (MONITOR, 200 more turns): {sent:.2f}; "
                  f"commands inside scripts: {inside:.2f}")
        if profiler is not None:
            print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False,
                                       time="percent_of_total"))
    finally:
        await container.close()


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of this run only: INFO commandstats of the shared one counts
    everybody's commands."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


async def main(args) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        if "sqlite" in args.backends:
            await measure(sqlite_memory_backend(workdir), Path(workdir), args)
        if "postgres" in args.backends:
            with private_redis() as redis_url:
                async with postgres_redis_backend(args.pg_url, redis_url) as backend:
                    await measure(backend, Path(workdir), args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--pg-url", default=PG_URL)
    asyncio.run(main(parser.parse_args()))
