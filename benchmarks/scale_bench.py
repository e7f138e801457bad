"""Issue 11's side-by-side run: the project's web chat and a bare FastAPI/uvicorn JSON
echo endpoint under the same closed-loop load generator, one right after the other
(the machine's load changes by the minute: both servers run throughout, and the two
max runs are a second apart), for 1 and 2 server processes; then, on
the project, the latency at half of its maximum throughput (open loop, Python
generator), Redis memory per idle conversation, and optionally a py-spy profile of the
server under load.

The project's load: ``sessions`` web chat sessions (stateless signed tokens made
up front), each asking in turn the standalone questions of ``scenarios.QUESTIONS``
(office hours of a city, payment methods).
"""

from __future__ import annotations

import asyncio
import collections
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks import http_bench, loadgen, profile_summary
from benchmarks.infra import Backend
from benchmarks.scenarios import QUESTIONS, QUESTIONS_MIX

TARGET_RATIO = {"sqlite+memory": 0.35, "postgres+redis": 0.25}
TARGET_HALF_P99_SECONDS = 0.050
TARGET_REDIS_BYTES_PER_CONVERSATION = 2048
MESSAGES_PATH = "/api/webchat/messages"


@dataclass
class RedisMemory:
    conversations: int
    bytes_per_conversation: (
        float  # MEMORY USAGE summed over the run's keys, delta / conversations
    )
    keys_per_conversation: float
    info_delta_per_conversation: (
        float | None
    )  # INFO used_memory delta: others share this Redis, so noisy
    by_kind: dict[str, int]  # key kind (prefix stripped, ids masked) -> bytes, delta
    per_more_message: float | None = (
        None  # bytes each further message adds to a conversation
    )

    @property
    def target_met(self) -> bool:
        return self.bytes_per_conversation <= TARGET_REDIS_BYTES_PER_CONVERSATION


@dataclass
class SideBySide:
    backend: str
    workers: int
    project: loadgen.LoadResult
    echo: loadgen.LoadResult | None
    startup_seconds: float
    server_cpu: (
        float | None
    )  # share of one core during the project's max run, all processes
    project_cpu_per_request: float | None = (
        None  # server CPU seconds / answered request
    )
    redis_cpu: float | None = (
        None  # share of one core the Redis server used during the project's max run
    )
    echo_cpu_per_request: float | None = None
    half: http_bench.RunFigures | None = None
    # The same rate from wrk, paced (loadgen.paced): the target's figure when wrk is there.
    half_paced: loadgen.LoadResult | None = None
    redis_memory: RedisMemory | None = None
    unexpected: list[str] = field(
        default_factory=list
    )  # answers that missed the expected text
    profile: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def half_rate(self) -> float:
        """Half the maximum throughput: the rate of the latency target."""
        return self.project.per_second / 2

    @property
    def ratio(self) -> float | None:
        if not self.echo or not self.echo.per_second:
            return None
        return self.project.per_second / self.echo.per_second

    @property
    def cpu_ratio(self) -> float | None:
        """echo CPU per request / project CPU per request: the ratio the two would have
        if each server got whole cores — on a shared machine the throughput ratio also
        measures how much CPU each server happened to get."""
        if not self.project_cpu_per_request or not self.echo_cpu_per_request:
            return None
        return self.echo_cpu_per_request / self.project_cpu_per_request

    @property
    def ratio_target(self) -> float | None:
        return TARGET_RATIO.get(self.backend) if self.workers == 1 else None


def bodies() -> list[str]:
    return [
        json.dumps({"text": question}, ensure_ascii=False) for question, _ in QUESTIONS
    ]


async def make_sessions(base_url: str, count: int, concurrency: int = 8) -> list[str]:
    tokens: list[str] = []
    remaining = [count]
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                response = await client.post("/api/webchat/sessions")
                response.raise_for_status()
                tokens.append(response.json()["token"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tokens


async def check_answers(base_url: str, tokens: list[str]) -> list[str]:
    """Each question once in a session of its own: the load must measure real answers."""
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        for token, (question, expect) in zip(tokens, QUESTIONS):
            response = await client.post(
                MESSAGES_PATH,
                json={"text": question},
                headers={"Authorization": f"Bearer {token}"},
            )
            shown = (
                " | ".join(
                    reply.get("text", "")
                    for reply in response.json().get("replies", [])
                )
                if response.is_success
                else ""
            )
            if response.status_code != 200 or expect.lower() not in shown.lower():
                problems.append(
                    f"{question!r}: HTTP {response.status_code}, expected {expect!r} in {shown[:120]!r}"
                )
    return problems


# -- Redis memory -----------------------------------------------------------------------------------
async def _prefix_usage(client, prefix: str) -> dict[str, tuple[int, int]]:
    """key kind -> (bytes by MEMORY USAGE, keys) for every key under ``prefix``."""
    usage: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        async with client.pipeline(transaction=False) as pipe:
            for key in batch:
                pipe.memory_usage(key, samples=0)
            sizes = await pipe.execute()
        for key, size in zip(batch, sizes):
            kind = _key_kind(key.decode()[len(prefix) :])
            usage[kind][0] += size or 0
            usage[kind][1] += 1
    return {kind: (bytes_, count) for kind, (bytes_, count) in usage.items()}


def _key_kind(key: str) -> str:
    """``v:conv:webchat:1b2c…`` -> ``v:conv:webchat:…``: long or numeric parts masked."""
    parts = key.split(":")
    return ":".join(
        part if len(part) < 12 and not part.isdigit() else "…" for part in parts
    )


async def redis_memory(
    base_url: str, backend: Backend, tokens: list[str], messages: int = 3
) -> RedisMemory:
    """``messages`` questions in each of ``tokens``' sessions, one round at a time;
    the Redis memory under the run's private prefix before and after each round
    (MEMORY USAGE of each key: the shared Redis's INFO total moves with everyone
    else's keys too). The figure is after one question; ``per_more_message`` is what
    each further message adds to an idle conversation."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(backend.redis_url)
    snapshots: list[dict[str, tuple[int, int]]] = []
    try:
        snapshots.append(await _prefix_usage(client, backend.redis_prefix))
        info_before = (await client.info("memory"))["used_memory"]
        info_after_first = info_before
        async with httpx.AsyncClient(
            base_url=base_url, timeout=10.0, limits=httpx.Limits(max_connections=8)
        ) as http:

            async def worker(queue: list[tuple[int, str]], round_: int) -> None:
                while queue:
                    index, token = queue.pop()
                    question, _ = QUESTIONS[(index + round_) % len(QUESTIONS)]
                    response = await http.post(
                        MESSAGES_PATH,
                        json={"text": question},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    response.raise_for_status()

            for round_ in range(messages):
                queue = list(enumerate(tokens))
                await asyncio.gather(*(worker(queue, round_) for _ in range(8)))
                await asyncio.sleep(1.0)  # anything the turn does after its reply
                snapshots.append(await _prefix_usage(client, backend.redis_prefix))
                if round_ == 0:
                    info_after_first = (await client.info("memory"))["used_memory"]
    finally:
        await client.aclose()
    count = len(tokens)

    def total(snapshot: dict[str, tuple[int, int]], index: int) -> int:
        return sum(values[index] for values in snapshot.values())

    before, first, last = snapshots[0], snapshots[1], snapshots[-1]
    kinds = set(before) | set(first)
    delta = {
        kind: first.get(kind, (0, 0))[0] - before.get(kind, (0, 0))[0] for kind in kinds
    }
    return RedisMemory(
        conversations=count,
        bytes_per_conversation=(total(first, 0) - total(before, 0)) / count,
        keys_per_conversation=(total(first, 1) - total(before, 1)) / count,
        info_delta_per_conversation=(info_after_first - info_before) / count,
        by_kind={
            kind: size
            for kind, size in sorted(delta.items(), key=lambda item: -item[1])
            if size
        },
        per_more_message=(total(last, 0) - total(first, 0)) / count / (messages - 1)
        if messages > 1
        else None,
    )


# -- the run ------------------------------------------------------------------------------------------
async def run(
    backend: Backend,
    workdir: Path,
    *,
    workers: int,
    sessions: int,
    seconds: float,
    connections: int,
    half_seconds: float,
    redis_conversations: int,
    profile_seconds: float,
    profile_dir: Path | None = None,
) -> SideBySide:
    payloads = bodies()
    # Both servers run for the whole part, so that the echo's max run comes right
    # after the project's (a second apart, not after the half-max runs and the profile,
    # ~45 s later): this shared machine's speed drifts by the minute, and the ratio is
    # only fair when both are measured on the same minute. An idle server costs nothing.
    async with (
        http_bench.running_echo(workdir, workers) as (echo_url, echo_process, _, _),
        http_bench.running_server(backend, workdir, workers) as (base_url, process, startup, log_path),
    ):
        tokens = await make_sessions(base_url, sessions + len(QUESTIONS) + redis_conversations)
        check_tokens, tokens = tokens[: len(QUESTIONS)], tokens[len(QUESTIONS) :]
        memory_tokens, tokens = tokens[:redis_conversations], tokens[redis_conversations:]
        memory = (
            await redis_memory(base_url, backend, memory_tokens)
            if backend.redis_url and memory_tokens
            else None
        )
        unexpected = await check_answers(base_url, check_tokens)
        # Warm-up of both: pools, caches, the NLU's first calls.
        await loadgen.closed_loop(base_url, MESSAGES_PATH, tokens, payloads, connections=connections, seconds=2)
        await loadgen.closed_loop(echo_url, "/echo", tokens, payloads, connections=connections, seconds=1)
        await http_bench.until_idle(process.pid)
        await http_bench.until_idle(echo_process.pid)
        redis_pid = await _redis_pid(backend.redis_url) if backend.redis_url else None
        redis_before = http_bench.process_cpu_seconds(redis_pid) if redis_pid else None
        cpu_before = http_bench.process_cpu_seconds(process.pid)
        project = await loadgen.closed_loop(
            base_url, MESSAGES_PATH, tokens, payloads, connections=connections, seconds=seconds
        )
        cpu_after = http_bench.process_cpu_seconds(process.pid)
        redis_after = http_bench.process_cpu_seconds(redis_pid) if redis_pid else None
        server_cpu = (
            (cpu_after - cpu_before) / project.seconds
            if cpu_before is not None and cpu_after is not None
            else None
        )
        figures = SideBySide(
            backend.name, workers, project, None, startup, server_cpu, redis_memory=memory, unexpected=unexpected
        )
        figures.project_cpu_per_request = _cpu_per_request(cpu_before, cpu_after, project)
        if redis_before is not None and redis_after is not None:
            figures.redis_cpu = (redis_after - redis_before) / project.seconds
        # The echo at once (see ``run``): the project's last writes done first.
        await http_bench.until_idle(process.pid)
        echo_cpu_before = http_bench.process_cpu_seconds(echo_process.pid)
        figures.echo = await loadgen.closed_loop(
            echo_url, "/echo", tokens, payloads, connections=connections, seconds=seconds
        )
        figures.echo_cpu_per_request = _cpu_per_request(
            echo_cpu_before, http_bench.process_cpu_seconds(echo_process.pid), figures.echo
        )
        await http_bench.until_idle(echo_process.pid)
        if half_seconds > 0 and project.per_second > 0:
            figures.half_paced = await loadgen.paced(
                base_url, MESSAGES_PATH, tokens, payloads,
                connections=connections, rate=figures.half_rate, seconds=half_seconds,
            )  # fmt: skip
            await http_bench.until_idle(process.pid)
            load = http_bench._Load(base_url, seed=20261130, mix=QUESTIONS_MIX)
            try:
                figures.half = await http_bench.fixed_rate(
                    load,
                    process.pid,
                    rate=figures.half_rate,
                    seconds=half_seconds,
                    subscribers=max(64, sessions // 10),
                )
            finally:
                await load.aclose()
            await http_bench.until_idle(process.pid)
        if profile_seconds > 0:
            figures.profile = await profile_under_load(
                base_url,
                process.pid,
                tokens,
                payloads,
                profile_dir or workdir,
                connections,
                profile_seconds,
                workers,
                name=f"profile-{backend.name.replace('+', '-')}-{workers}w.txt",
            )
        figures.notes = http_bench.notable_log_lines(log_path)
    return figures


async def _redis_pid(url: str) -> int | None:
    """The Redis server's process id when it runs on this machine (127.0.0.1): its CPU
    share tells whether the shared Redis, not our server, was the limit."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        pid = int((await client.info("server"))["process_id"])
    except Exception:  # noqa: BLE001 - only a diagnostic
        return None
    finally:
        await client.aclose()
    return pid if Path(f"/proc/{pid}").exists() else None


def _cpu_per_request(
    before: float | None, after: float | None, result: loadgen.LoadResult
) -> float | None:
    if before is None or after is None or not result.requests:
        return None
    return (after - before) / result.requests


async def profile_under_load(
    base_url: str,
    pid: int,
    tokens: list[str],
    payloads: list[str],
    workdir: Path,
    connections: int,
    seconds: float,
    workers: int,
    *,
    name: str,
) -> list[str]:
    """py-spy (a sampling profiler; its binary ships in the PyPI wheel) on the server
    while the closed loop runs; summarised by profile_summary."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return ["py-spy is not installed (pip install py-spy): no profile"]
    workdir.mkdir(parents=True, exist_ok=True)  # --keep-profiles may name a new folder
    output = workdir / name
    command = [spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", "100",
               "--format", "raw", "--nolineno", "--full-filenames", "--output", str(output)]  # fmt: skip
    if workers > 1:
        command.append("--subprocesses")
    spy_process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        await loadgen.closed_loop(
            base_url,
            MESSAGES_PATH,
            tokens,
            payloads,
            connections=connections,
            seconds=seconds,
        )
        _, stderr = await asyncio.to_thread(
            spy_process.communicate, timeout=seconds + 30
        )
    finally:
        if spy_process.poll() is None:
            spy_process.kill()
            spy_process.wait()
    if not output.exists():
        return [f"py-spy failed: {stderr.decode(errors='replace').strip()[:300]}"]
    return profile_summary.summarize(output.read_text("utf-8", errors="replace"))


# -- output ---------------------------------------------------------------------------------------------
def describe(figures: SideBySide) -> list[str]:
    lines = [
        f"  {figures.backend}, {figures.workers} process(es); server ready in {figures.startup_seconds:.1f} s"
    ]
    cpu = (
        f"; server CPU {figures.server_cpu:.0%} of one core"
        if figures.server_cpu is not None
        else ""
    )
    if figures.redis_cpu is not None:
        cpu += f", Redis server {figures.redis_cpu:.0%} (shared with everyone's tests)"
    lines.append(f"    project web chat: {figures.project.describe()}{cpu}")
    if figures.echo:
        lines.append(f"    bare echo:        {figures.echo.describe()}")
    if figures.ratio is not None:
        target = figures.ratio_target
        verdict = (
            f" — target ≥ {target:.2f}: {'met' if figures.ratio >= target else 'MISSED'}"
            if target
            else ""
        )
        lines.append(f"    ratio project / echo: {figures.ratio:.3f}{verdict}")
    if figures.cpu_ratio is not None:
        lines.append(
            f"    server CPU per request: project {figures.project_cpu_per_request * 1e3:.2f} ms, echo "
            f"{figures.echo_cpu_per_request * 1e3:.2f} ms — ratio by CPU cost {figures.cpu_ratio:.3f} "
            "(what the throughput ratio would be if both servers got whole cores)"
        )
    if figures.unexpected:
        lines.append(
            f"    UNEXPECTED ANSWERS ({len(figures.unexpected)}): "
            + "; ".join(figures.unexpected[:3])
        )
    half = figures.half
    paced = figures.half_paced
    if paced:
        verdict = "met" if half_met(figures) else "MISSED"
        lines.append(
            f"    at half the max ({figures.half_rate:.0f} msg/s wanted, wrk paced over {paced.connections} connections, "
            f"{paced.seconds:.0f} s): {paced.per_second:,.0f} msg/s achieved, errors {paced.errors}; latency p50 "
            f"{paced.p50 * 1e3:.1f} / p99 {paced.p99 * 1e3:.1f} / max {paced.max * 1e3:.0f} ms "
            f"— target p99 < {TARGET_HALF_P99_SECONDS * 1e3:.0f} ms: {verdict}"
        )
    if half:
        verdict = "met" if half_met(figures) else "MISSED"
        lines.append(
            f"    at half the max ({half.offered_rate:.0f} msg/s, open loop, Python generator, {half.seconds:.0f} s): "
            f"{half.ok:,}/{half.sent:,} ok, errors {half.errors}, not sent {half.skipped}; latency {half.latency.ms()} "
            + ("(the generator's own CPU shares the two cores: for reference)" if paced else
               f"— target p99 < {TARGET_HALF_P99_SECONDS * 1e3:.0f} ms: {verdict}")
        )
        if half.outcome.unexpected:
            lines.append(
                f"      unexpected answers {half.outcome.unexpected}: "
                + "; ".join(half.outcome.samples[:2])
            )
    memory = figures.redis_memory
    if memory:
        info = (
            f"; INFO used_memory delta {memory.info_delta_per_conversation:,.0f} B (shared Redis: noisy)"
            if memory.info_delta_per_conversation is not None
            else ""
        )
        lines.append(
            f"    Redis per idle conversation ({memory.conversations:,} conversations, one question each): "
            f"{memory.bytes_per_conversation:,.0f} B by MEMORY USAGE in {memory.keys_per_conversation:.1f} keys{info} "
            f"— target ≤ {TARGET_REDIS_BYTES_PER_CONVERSATION:,} B: {'met' if memory.target_met else 'MISSED'}"
        )
        lines.append(
            "      by key, after one question: "
            + ", ".join(
                f"{kind} {size / memory.conversations:,.0f} B"
                for kind, size in list(memory.by_kind.items())[:6]
            )
        )
        if memory.per_more_message is not None:
            lines.append(
                f"      each further message adds {memory.per_more_message:,.0f} B to the idle conversation (until the keys expire)"
            )
    if figures.profile:
        lines.append(
            "    profile of the server under the same load (py-spy, CPU samples):"
        )
        lines += [f"      {line}" for line in figures.profile]
    if figures.notes:
        lines.append("    server log:")
        lines += [f"      {line[:200]}" for line in figures.notes]
    return lines


def half_met(figures: SideBySide) -> bool | None:
    """From wrk's paced run when there is one (achieved within 10% of the wanted rate),
    else from the Python open loop."""
    paced = figures.half_paced
    if paced is not None:
        return (
            paced.errors == 0
            and paced.per_second >= 0.9 * figures.half_rate
            and paced.p99 < TARGET_HALF_P99_SECONDS
        )
    half = figures.half
    if half is None:
        return None
    return (
        half.errors == 0
        and half.skipped == 0
        and half.latency.p99 < TARGET_HALF_P99_SECONDS
    )
