"""Speed figures of isp-support: ``.venv/bin/python benchmarks/run.py [--quick]``.

1. NLU: ``NLU.parse`` utterances per second on one core; held-out eval accuracy.
2. Dialog turns in-process: ``DialogEngine.handle`` turns per second, on SQLite +
   in-process state and on PostgreSQL + Redis.
3. Web chat over HTTP: the real app under uvicorn in a subprocess, at a fixed offered
   rate (open loop) and at maximum throughput, on both backends.
4. Side by side (issue 11): the web chat and a bare FastAPI/uvicorn echo endpoint under
   the same load generator (wrk when installed), the ratio printed, for 1 and 2 server
   processes; p99 at half the maximum; Redis memory per idle conversation; a py-spy
   profile of the server under that load.
5. Subscriber import: a generated CSV with PBKDF2 password hashes, imported and
   re-imported (must write nothing), on PostgreSQL and SQLite.

Prints figures and whether each target is met; never fails on speed. Every part is
bounded by counts and seconds. Traffic goes to 127.0.0.1 only (the app under test,
and the default PostgreSQL and Redis).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import (  # noqa: E402
    console_bench, engine_bench, http_bench, import_bench, infra, loadgen, nlu_bench, roundtrips, scale_bench,
)

PARTS = ("nlu", "engine", "roundtrips", "http", "scale", "import", "console")
BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Row:
    part: str
    backend: str
    figure: str
    target: str = ""
    met: bool | None = None


class LogTally(logging.Handler):
    """Counts the app's warnings and errors instead of printing them mid-report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.samples) < 3:
            self.samples.append(f"{record.levelname} {record.name}: {record.getMessage()[:160]}")

    def lines(self) -> list[str]:
        if not self.count:
            return []
        return [f"  app log: {self.count} warnings/errors, e.g."] + [f"    {sample}" for sample in self.samples]


# -- options ----------------------------------------------------------------------------------------
FULL = dict(
    nlu_seconds=2.0, nlu_rounds=5,
    engine_turns=5000, engine_warmup=500, engine_concurrency=32, engine_time_limit=120.0,
    http_rate=200.0, http_seconds=25.0, http_subscribers=500, http_max_seconds=15.0,
    http_max_concurrency=32, http_warmup=300, console_requests=200, console_messages=10,
    scale_sessions=3000, scale_seconds=10.0, scale_connections=32, scale_half_seconds=15.0,
    scale_redis_conversations=1000, scale_profile_seconds=8.0,
    import_postgres_rows=1_000_000, import_sqlite_rows=100_000,
)  # fmt: skip
QUICK = dict(
    nlu_seconds=1.0, nlu_rounds=2,
    engine_turns=600, engine_warmup=100, engine_concurrency=32, engine_time_limit=30.0,
    http_rate=200.0, http_seconds=5.0, http_subscribers=100, http_max_seconds=4.0,
    http_max_concurrency=32, http_warmup=50, console_requests=60, console_messages=3,
    scale_sessions=300, scale_seconds=3.0, scale_connections=32, scale_half_seconds=4.0,
    scale_redis_conversations=200, scale_profile_seconds=3.0,
    import_postgres_rows=20_000, import_sqlite_rows=5_000,
)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (about a minute in all) instead of the full ones")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite (SQLite + in-process state), postgres (PostgreSQL + Redis) (default: both)")
    parser.add_argument("--postgres-url", default=infra.PG_URL, help="a fresh schema is made in it and dropped after (default: %(default)s)")
    parser.add_argument("--redis-url", default=infra.REDIS_URL, help="keys live under a random prefix, deleted after (default: %(default)s)")
    sizes = parser.add_argument_group("sizes (defaults: full run; --quick picks smaller ones)")
    for name, value in FULL.items():
        sizes.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=None, help=f"full: {value}, quick: {QUICK[name]}")
    parser.add_argument("--scale-workers", default="1,2", help="server processes for the side-by-side run on PostgreSQL + Redis (SQLite: 1 only) (default: %(default)s)")
    parser.add_argument("--keep-profiles", type=Path, help="keep py-spy's raw profiles (flamegraph.pl input) in this directory")
    parser.add_argument("--json", type=Path, help="also write the summary rows to this file")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.parts = _choices(parser, args.parts, PARTS, "--parts")
    args.backends = _choices(parser, args.backends, BACKENDS, "--backends")
    try:
        args.scale_workers = sorted({int(item) for item in args.scale_workers.split(",") if item.strip()})
    except ValueError:
        parser.error("--scale-workers: comma-separated numbers")
    return args


def _choices(parser: argparse.ArgumentParser, given: str, allowed: tuple[str, ...], option: str) -> list[str]:
    picked = [item.strip() for item in given.split(",") if item.strip()]
    unknown = [item for item in picked if item not in allowed]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return picked


# -- parts --------------------------------------------------------------------------------------------
def run_nlu(args: argparse.Namespace, rows: list[Row]) -> None:
    heading("1. NLU — NLU.parse on one core (eval-set texts repeated), after warm-up")
    figures = nlu_bench.run(seconds=args.nlu_seconds, rounds=args.nlu_rounds)
    say(nlu_bench.describe(figures))
    rows.append(Row("NLU parse, 1 core", "—", f"{figures.per_second_median:,.0f} utterances/s", f"≥ {nlu_bench.TARGET_PER_SECOND:,}/s", figures.target_met))
    rows.append(Row("NLU held-out intent accuracy", "—", f"{figures.intent_accuracy:.1%} ({figures.intent_correct}/{figures.eval_total})"))
    rows.append(Row("NLU held-out entity accuracy", "—", f"{figures.entity_accuracy:.1%} ({figures.entities_exact}/{figures.eval_total})"))


async def with_backend(kind: str, args: argparse.Namespace, workdir: Path, body) -> None:
    """Run ``body(backend)`` on a fresh backend of ``kind``; skip with the reason when
    PostgreSQL or Redis is not reachable."""
    if kind == "sqlite":
        subdir = Path(tempfile.mkdtemp(dir=workdir))
        await body(infra.sqlite_memory_backend(str(subdir)), subdir)
        return
    reasons = [why for why in (await infra.postgres_reachable(args.postgres_url), await infra.redis_reachable(args.redis_url)) if why]
    if reasons:
        say([f"  postgres+redis: skipped, not reachable ({'; '.join(reasons)})"])
        return
    flushes_before = await infra.redis_flush_count(args.redis_url)
    async with infra.postgres_redis_backend(args.postgres_url, args.redis_url) as backend:
        subdir = Path(tempfile.mkdtemp(dir=workdir))
        await body(backend, subdir)
    flushes_after = await infra.redis_flush_count(args.redis_url)
    if flushes_before is not None and flushes_after is not None and flushes_after > flushes_before:
        say([
            f"  WARNING: someone flushed Redis {flushes_after - flushes_before} time(s) during this run "
            "(a test suite's redis_url fixture does): conversations and locks were wiped, so expect "
            "'unexpected answers' and lock warnings; rerun when no tests run, or pass another --redis-url db.",
        ])


async def run_engine(args: argparse.Namespace, workdir: Path, rows: list[Row], logs: LogTally) -> None:
    heading(
        "2. Dialog turns in-process — DialogEngine.handle with the app's container\n"
        "   (password hashing excluded: demo subscribers hashed with PASSWORD_HASH_PROFILE=insecure-fast)"
    )

    async def body(backend: infra.Backend, subdir: Path) -> None:
        say([f" {backend.name}:"])
        logs.reset()
        figures = await engine_bench.run(
            backend,
            subdir,
            turns=args.engine_turns,
            warmup_turns=args.engine_warmup,
            concurrency=args.engine_concurrency,
            time_limit=args.engine_time_limit,
        )
        say(engine_bench.describe(figures) + logs.lines())
        rows.append(Row(
            "dialog turns in-process", backend.name,
            f"{figures.per_second:,.0f} turns/s (p50 {figures.latency.p50 * 1e3:.0f} ms, p99 {figures.latency.p99 * 1e3:.0f} ms, "
            f"{figures.concurrency} at once)",
            f"≥ {engine_bench.TARGET_PER_SECOND:,}/s", figures.target_met,
        ))  # fmt: skip

    for kind in args.backends:
        await with_backend(kind, args, workdir, body)


async def run_roundtrips(args: argparse.Namespace, workdir: Path, rows: list[Row]) -> None:
    heading("2b. Round trips of a turn — Redis sends and SQL statements, one turn at a time in-process")

    async def body(backend: infra.Backend, subdir: Path) -> None:
        for figures in await roundtrips.run(backend, subdir):
            say(roundtrips.describe(figures))
            redis = (
                f"{figures.redis_sends:.1f} Redis round trips ({figures.redis_sends_to_begin:.1f} to begin the turn), "
                if figures.redis_commands else ""
            )  # fmt: skip
            # Issue 11: "one Redis round trip for lock, de-duplication and state" — the
            # turn's start. Its end (the state written, the lock freed) is a second one:
            # the state is known only after the skills ran.
            rows.append(Row(
                f"round trips per turn, {figures.mix}", backend.name,
                f"{redis}{figures.sql_statements:.1f} SQL statements (+ {figures.sql_after_reply:.2f} after the reply)",
                "1 Redis round trip for lock, de-duplication and state" if figures.redis_commands else "",
                figures.redis_sends_to_begin <= 1.0 if figures.redis_commands else None,
            ))  # fmt: skip

    for kind in args.backends:
        await with_backend(kind, args, workdir, body)


async def run_http(args: argparse.Namespace, workdir: Path, rows: list[Row]) -> None:
    heading("3. Web chat over HTTP — `python -m app.cli serve` (uvicorn, 1 process) on 127.0.0.1, httpx load generator")

    async def body(backend: infra.Backend, subdir: Path) -> None:
        say([f" {backend.name}:"])
        try:
            figures = await http_bench.run(
                backend,
                subdir,
                rate=args.http_rate,
                seconds=args.http_seconds,
                subscribers=args.http_subscribers,
                max_seconds=args.http_max_seconds,
                max_concurrency=args.http_max_concurrency,
                warmup_messages=args.http_warmup,
            )
        except RuntimeError as error:
            say([f"  FAILED: {error}"])
            rows.append(Row("web chat over HTTP", backend.name, f"failed: {str(error).splitlines()[0]}"))
            return
        say(http_bench.describe(figures))
        for run_ in figures.runs:
            if run_.mode == "fixed rate":
                rows.append(Row(
                    f"web chat HTTP at {run_.offered_rate:.0f} msg/s", backend.name,
                    f"{run_.achieved_rate:.0f} msg/s; p50 {run_.latency.p50 * 1e3:.0f} / p90 {run_.latency.p90 * 1e3:.0f} / "
                    f"p99 {run_.latency.p99 * 1e3:.0f} / max {run_.latency.max * 1e3:.0f} ms; errors {run_.errors}"
                    + (f"; not sent (server behind) {run_.skipped:,}" if run_.skipped else ""),
                    f"p99 < {http_bench.TARGET_P99_SECONDS * 1e3:.0f} ms", run_.target_met,
                ))  # fmt: skip
            else:
                rows.append(Row(
                    "web chat HTTP, max throughput", backend.name,
                    f"{run_.achieved_rate:.0f} msg/s ({run_.concurrency} at once); p50 {run_.latency.p50 * 1e3:.0f} / "
                    f"p99 {run_.latency.p99 * 1e3:.0f} ms; errors {run_.errors}",
                ))  # fmt: skip

    for kind in args.backends:
        await with_backend(kind, args, workdir, body)


async def run_console(args: argparse.Namespace, workdir: Path, rows: list[Row]) -> None:
    heading(
        "6. Agent console — `isp-support serve` (uvicorn) in subprocesses on 127.0.0.1\n"
        "   a) GET /api/agent/queue with 10,000 open items vs the bare GET /healthz, interleaved\n"
        "   b) subscriber message on process A → agent console WebSocket on process B (PostgreSQL + Redis only)"
    )

    async def body(backend: infra.Backend, subdir: Path) -> None:
        say([f" {backend.name}:"])
        try:
            queue = await console_bench.queue_endpoint(backend, subdir / "queue", requests=args.console_requests)
            say(console_bench.describe_queue(queue))
            rows.append(Row(
                "console queue, 10,000 items", backend.name,
                f"p50 {queue.queue.p50 * 1e3:.0f} / p99 {queue.queue.p99 * 1e3:.0f} ms "
                f"(bare /healthz p50 {queue.bare.p50 * 1e3:.0f} / p99 {queue.bare.p99 * 1e3:.0f} ms)",
                f"p99 < {console_bench.TARGET_QUEUE_P99 * 1e3:.0f} ms", queue.target_met,
            ))  # fmt: skip
            if backend.redis_url is None:
                return
            live = await console_bench.live_latency(backend, subdir / "live", messages_each=args.console_messages)
            say(console_bench.describe_live(live))
            rows.append(Row(
                "subscriber → agent WebSocket, 2 processes", backend.name,
                f"p50 {live.latency.p50 * 1e3:.0f} / p99 {live.latency.p99 * 1e3:.0f} ms; lost {live.lost}",
                f"p99 < {console_bench.TARGET_LIVE_P99 * 1e3:.0f} ms", live.target_met,
            ))  # fmt: skip
        except RuntimeError as error:
            say([f"  FAILED: {error}"])
            rows.append(Row("agent console", backend.name, f"failed: {str(error).splitlines()[0]}"))
async def run_scale(args: argparse.Namespace, workdir: Path, rows: list[Row]) -> None:
    generator = "wrk -t1" if loadgen.wrk_path() else "httpx (Python)"
    heading(
        f"4. Side by side — the web chat vs a bare FastAPI/uvicorn JSON echo, same load generator ({generator}, "
        f"{args.scale_connections} connections, {args.scale_sessions:,} sessions asking office hours and payment methods)"
    )
    if not loadgen.wrk_path():
        say([f"  NOTE: {loadgen.WRK_INSTALL_HINT}: it costs the shared cores more, so ratios are lower than with wrk."])
    per_backend: dict[str, dict[int, scale_bench.SideBySide]] = {}

    async def body(backend: infra.Backend, subdir: Path) -> None:
        workers = [1] if backend.redis_url is None else args.scale_workers
        for count in workers:
            try:
                figures = await scale_bench.run(
                    backend, subdir, workers=count, sessions=args.scale_sessions, seconds=args.scale_seconds,
                    connections=args.scale_connections, half_seconds=args.scale_half_seconds,
                    redis_conversations=args.scale_redis_conversations if count == 1 else 0,
                    profile_seconds=args.scale_profile_seconds if count == 1 else 0, profile_dir=args.keep_profiles,
                )  # fmt: skip
            except RuntimeError as error:
                say([f"  {backend.name}, {count} process(es): FAILED: {error}"])
                rows.append(Row(f"side by side, {count} process(es)", backend.name, f"failed: {str(error).splitlines()[0]}"))
                continue
            per_backend.setdefault(backend.name, {})[count] = figures
            say(scale_bench.describe(figures))
            add_scale_rows(rows, figures, per_backend[backend.name])

    for kind in args.backends:
        await with_backend(kind, args, workdir, body)


def add_scale_rows(rows: list[Row], figures: scale_bench.SideBySide, by_workers: dict) -> None:
    project, echo = figures.project, figures.echo
    label = f"web chat vs bare echo, {figures.workers} process(es)"
    figure = (
        f"{project.per_second:,.0f} msg/s, p50 {project.p50 * 1e3:.0f} / p99 {project.p99 * 1e3:.0f} ms"
        + (f" vs {echo.per_second:,.0f} req/s, p99 {echo.p99 * 1e3:.1f} ms: ratio **{figures.ratio:.3f}**" if echo and figures.ratio is not None else "")
        + (f"; errors {project.errors}" if project.errors else "")
        + (f"; by CPU cost: {figures.project_cpu_per_request * 1e3:.2f} vs {figures.echo_cpu_per_request * 1e3:.2f} ms a request, "
           f"ratio {figures.cpu_ratio:.3f}" if figures.cpu_ratio is not None else "")
    )  # fmt: skip
    target = figures.ratio_target
    rows.append(Row(label, figures.backend, figure, f"ratio ≥ {target:.2f}" if target else "", figures.ratio >= target if target and figures.ratio is not None else None))
    if figures.workers > 1 and 1 in by_workers:
        one = by_workers[1]
        factor = project.per_second / one.project.per_second if one.project.per_second else 0.0
        cpu = (
            f" (server CPU {figures.server_cpu:.0%} vs {one.server_cpu:.0%} of one core; CPU per message "
            f"{figures.project_cpu_per_request * 1e3:.2f} vs {one.project_cpu_per_request * 1e3:.2f} ms)"
            if figures.server_cpu is not None and one.server_cpu is not None
            and figures.project_cpu_per_request and one.project_cpu_per_request else ""
        )
        rows.append(Row(f"{figures.workers} processes vs 1, web chat msg/s", figures.backend, f"× {factor:.2f}{cpu}", "> × 1", factor > 1))
    if figures.half_paced:
        paced = figures.half_paced
        rows.append(Row(
            f"web chat at half its max, {figures.workers} process(es)", figures.backend,
            f"{figures.half_rate:.0f} msg/s wanted, {paced.per_second:.0f} achieved (wrk, paced); p50 {paced.p50 * 1e3:.0f} / "
            f"p99 {paced.p99 * 1e3:.0f} ms; errors {paced.errors}",
            "p99 < 50 ms" if figures.workers == 1 else "", scale_bench.half_met(figures) if figures.workers == 1 else None,
        ))  # fmt: skip
    elif figures.half:
        half = figures.half
        rows.append(Row(
            f"web chat at half its max, {figures.workers} process(es)", figures.backend,
            f"{half.offered_rate:.0f} msg/s offered; p50 {half.latency.p50 * 1e3:.0f} / p99 {half.latency.p99 * 1e3:.0f} ms; errors {half.errors}",
            "p99 < 50 ms" if figures.workers == 1 else "", scale_bench.half_met(figures) if figures.workers == 1 else None,
        ))  # fmt: skip
    if figures.redis_memory:
        memory = figures.redis_memory
        rows.append(Row(
            "Redis per idle conversation", figures.backend,
            f"{memory.bytes_per_conversation:,.0f} B in {memory.keys_per_conversation:.1f} keys after one question"
            + (f", + {memory.per_more_message:,.0f} B per further message" if memory.per_more_message is not None else "")
            + f" ({memory.conversations:,} conversations)",
            f"≤ {scale_bench.TARGET_REDIS_BYTES_PER_CONVERSATION:,} B", memory.target_met,
        ))  # fmt: skip


async def run_import(args: argparse.Namespace, workdir: Path, rows: list[Row]) -> None:
    heading("5. Subscriber import — generated CSV with PBKDF2 password_hash, first run and re-run (must write nothing)")

    async def body(backend: infra.Backend, subdir: Path) -> None:
        count = args.import_sqlite_rows if backend.redis_url is None else args.import_postgres_rows
        figures = await import_bench.run(backend, subdir, rows=count)
        say(import_bench.describe(figures))
        database = "PostgreSQL" if backend.redis_url else "SQLite"
        for name, run_, met, target in (
            ("first", figures.first, figures.first_met, f"< {import_bench.TARGET_FIRST_SECONDS:.0f} s for 1M"),
            ("re-run", figures.rerun, figures.rerun_met, "writes nothing" + (f", < {import_bench.TARGET_RERUN_SECONDS:.0f} s for 1M" if figures.first_met is not None else "")),
        ):
            written = f"; {run_.written_by_check:,} rows written" if run_.written_by_check is not None else ""
            rows.append(Row(
                f"import {figures.rows:,} rows with hashes, {name}", database,
                f"{run_.seconds:.1f} s (validating {run_.seconds - run_.write_seconds:.1f} s, writing {run_.write_seconds:.1f} s), "
                f"{run_.rows_per_second(figures.rows):,.0f} rows/s{written}",
                target if met is not None else "", met,
            ))  # fmt: skip

    for kind in args.backends:
        await with_backend(kind, args, workdir, body)


# -- output ---------------------------------------------------------------------------------------------
def heading(text: str) -> None:
    print(f"\n{text}", flush=True)


def say(lines: list[str]) -> None:
    for line in lines:
        print(line, flush=True)


def summary_table(rows: list[Row]) -> list[str]:
    def verdict(met: bool | None) -> str:
        return "—" if met is None else ("yes" if met else "**no**")

    lines = ["| measure | backend | figure | target | met |", "|---|---|---|---|---|"]
    lines += [f"| {r.part} | {r.backend} | {r.figure} | {r.target or '—'} | {verdict(r.met)} |" for r in rows]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logs = LogTally()
    logging.basicConfig(level=logging.WARNING, handlers=[logs], force=True)

    started = time.perf_counter()
    print(f"isp-support benchmarks — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {'quick' if args.quick else 'full'} run")
    for name, value in infra.machine_info():
        print(f"  {name}: {value}")
    load = infra.load_average()
    if load is not None:
        print(f"  load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        if load[0] > 1.0:
            print("  NOTE: the machine is busy (or was just now); figures may be lower than on a quiet one.")

    if "scale" in args.parts and not loadgen.wrk_path():
        print(f"  NOTE: {loadgen.WRK_INSTALL_HINT}")
    rows: list[Row] = []
    if "nlu" in args.parts:
        run_nlu(args, rows)

    async def async_parts() -> None:
        with tempfile.TemporaryDirectory(prefix="isp-bench-") as workdir:
            if "engine" in args.parts:
                await run_engine(args, Path(workdir), rows, logs)
            if "roundtrips" in args.parts:
                await run_roundtrips(args, Path(workdir), rows)
            if "http" in args.parts:
                await run_http(args, Path(workdir), rows)
            if "scale" in args.parts:
                await run_scale(args, Path(workdir), rows)
            if "import" in args.parts:
                await run_import(args, Path(workdir), rows)
            if "console" in args.parts:
                await run_console(args, Path(workdir), rows)

    if {"engine", "roundtrips", "http", "scale", "import", "console"} & set(args.parts):
        infra.run_async(async_parts())

    heading(f"Summary ({time.perf_counter() - started:.0f} s in all)")
    say(summary_table(rows))
    load = infra.load_average()
    if load is not None:
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "mode": "quick" if args.quick else "full",
                    "machine": dict(infra.machine_info()),
                    "rows": [r.__dict__ for r in rows],
                },
                ensure_ascii=False,
                indent=2,
            ),
            "utf-8",
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
