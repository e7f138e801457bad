"""Web chat over HTTP: the real app (``python -m app.cli serve``, uvicorn, one process)
in a subprocess on 127.0.0.1, driven by an async load generator in this process.

Two runs per server:

- fixed rate (open loop): a timer schedules one message every 1/rate seconds, whatever
  the server is doing; each message goes from the subscriber at the head of a queue of
  idle simulated subscribers (one waiting for its answer is not idle: like a person,
  it sends its next message only after the reply). Latency is measured from the
  *scheduled* send time, so a stalled server or client shows up in the figures instead
  of silently lowering the rate (no coordinated omission).
- maximum throughput (closed loop): N subscribers each send as soon as their previous
  message is answered.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

import httpx

from benchmarks.infra import SECRET_KEY, Backend, Latency, free_port, process_cpu_seconds
from benchmarks.scenarios import MIX, Outcome, PhoneNumbers, Subscriber

TARGET_P99_SECONDS = 0.050
REQUEST_TIMEOUT = 10.0
DRAIN_TIMEOUT = 15.0  # fixed rate: how long to wait for the answers still due after the last send
QUIET_CPU_SHARE = 0.05  # the server counts as idle below this share of one core
STARTUP_TIMEOUT = 90.0
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RunFigures:
    mode: str  # "fixed rate" | "max throughput"
    offered_rate: float | None
    sent: int
    ok: int
    seconds: float
    latency: Latency  # fixed rate: from the scheduled time; max: from the send
    service: Latency  # from the actual send
    errors: int
    error_kinds: collections.Counter
    skipped: int  # fixed rate: ticks that found every subscriber waiting for an answer
    late_sends: int  # fixed rate: sends that left > 5 ms after their scheduled time
    client_cpu: float  # share of one core
    server_cpu: float | None
    concurrency: int
    subscribers: int
    outcome: Outcome

    @property
    def achieved_rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def target_met(self) -> bool | None:
        if self.mode != "fixed rate":
            return None
        return self.errors == 0 and self.skipped == 0 and self.latency.p99 < TARGET_P99_SECONDS


@dataclass
class HttpFigures:
    backend: str
    startup_seconds: float
    runs: list[RunFigures] = field(default_factory=list)
    server_log_tail: list[str] = field(default_factory=list)


# -- the server --------------------------------------------------------------------------------
def server_env(backend: Backend, workdir: Path, port: int) -> dict[str, str]:
    """Only what the server needs: a parent's stray DATABASE_URL or TELEGRAM_BOT_TOKEN
    must not change what is measured."""
    # TRANSCRIPT_DURABLE passes through: the durability cost is measured by A/B runs.
    kept = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TRANSCRIPT_DURABLE")
    env = {name: os.environ[name] for name in kept if name in os.environ}
    env.update(
        DATABASE_URL=backend.database_url,
        REDIS_PREFIX=backend.redis_prefix,
        SECRET_KEY=SECRET_KEY,
        SECRET_KEY_FILE=str(workdir / "secret"),
        DEMO="true",
        PASSWORD_HASH_PROFILE="insecure-fast",
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="warning",
        PYTHONPATH=str(REPO_ROOT),
    )
    if backend.redis_url:
        env["REDIS_URL"] = backend.redis_url
    return env


@asynccontextmanager
async def running_server(
    backend: Backend, workdir: Path, workers: int = 1
) -> AsyncIterator[tuple[str, subprocess.Popen, float, Path]]:
    """Start the app (``serve --demo``, ``--workers N`` when N > 1: gunicorn), wait
    until /healthz answers 200, yield (base URL, process, startup seconds, log path);
    always stop the process afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--demo"]
    if workers > 1:
        command += ["--workers", str(workers)]
    log_name = f"server-{backend.name.replace('+', '-')}-{workers}w.log"
    async with running_process(command, server_env(backend, workdir, port), workdir, port, log_name) as running:
        yield running


def echo_command(workers: int, port: int) -> list[str]:
    """The bare echo endpoint, served like the app: uvicorn in one process, or gunicorn
    with uvicorn workers (the same worker class ``serve --workers`` uses)."""
    if workers == 1:
        return [sys.executable, "-m", "uvicorn", "benchmarks.echo_app:app", "--host", "127.0.0.1",
                "--port", str(port), "--log-level", "warning"]  # fmt: skip
    return [sys.executable, "-m", "gunicorn", "benchmarks.echo_app:app", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "uvicorn_worker.UvicornWorker",
            "--keep-alive", "5", "--log-level", "warning"]  # fmt: skip


@asynccontextmanager
async def running_echo(workdir: Path, workers: int = 1) -> AsyncIterator[tuple[str, subprocess.Popen, float, Path]]:
    port = free_port()
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env["PYTHONPATH"] = str(REPO_ROOT)
    async with running_process(echo_command(workers, port), env, workdir, port, f"echo-{workers}w.log") as running:
        yield running


@asynccontextmanager
async def running_process(
    command: list[str], env: dict[str, str], workdir: Path, port: int, log_name: str
) -> AsyncIterator[tuple[str, subprocess.Popen, float, Path]]:
    log_path = workdir / log_name
    base_url = f"http://127.0.0.1:{port}"
    log_file = open(log_path, "wb")
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=workdir,  # no stray .env; the SQLite file and secret stay in the temp dir
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        # A session of its own: with the kernel's autogroup scheduling (Debian's default)
        # each session shares one CPU slot, so the server would otherwise share the load
        # generator's slot. Its workers still share the server's slot.
        start_new_session=True,
    )
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with {process.returncode}:\n" + tail(log_path))
                if time.perf_counter() - started > STARTUP_TIMEOUT:
                    raise RuntimeError(f"the server did not answer /healthz within {STARTUP_TIMEOUT:.0f} s:\n" + tail(log_path))
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        yield base_url, process, time.perf_counter() - started, log_path
    finally:
        stop(process)
        log_file.close()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def until_idle(pid: int, limit: float = 30.0) -> None:
    """Wait (at most ``limit`` seconds) until the server process is nearly idle."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        before = process_cpu_seconds(pid)
        await asyncio.sleep(0.5)
        after = process_cpu_seconds(pid)
        if before is None or after is None or (after - before) / 0.5 < QUIET_CPU_SHARE:
            return


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text("utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- the load generator -------------------------------------------------------------------------
# httpx's connection pool scans its connections and waiting requests on every request:
# one client with hundreds of connections costs ~2 ms of CPU per request here, small
# clients ~0.7 ms. So subscribers share small clients, as many as a pool has connections.
SUBSCRIBERS_PER_CLIENT = 4


class _Chatter:
    """A simulated subscriber with its current web chat session and its HTTP client."""

    def __init__(self, sim: Subscriber, client: httpx.AsyncClient) -> None:
        self.sim = sim
        self.client = client
        self.token: str | None = None


class _Load:
    def __init__(self, base_url: str, seed: int, mix=None) -> None:
        self.base_url = base_url
        self.mix = mix or MIX
        self.clients: list[httpx.AsyncClient] = []
        self.rng = random.Random(seed)
        self.phones = PhoneNumbers(seed)
        self.tokens: collections.deque[str] = collections.deque()
        self.inline_sessions = 0

    def client(self, index: int) -> httpx.AsyncClient:
        slot = index // SUBSCRIBERS_PER_CLIENT
        while len(self.clients) <= slot:
            limits = httpx.Limits(max_connections=SUBSCRIBERS_PER_CLIENT, max_keepalive_connections=SUBSCRIBERS_PER_CLIENT)
            self.clients.append(httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=REQUEST_TIMEOUT))
        return self.clients[slot]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

    def chatter(self, outcome: Outcome, index: int) -> _Chatter:
        return _Chatter(Subscriber(random.Random(self.rng.random()), self.phones, outcome, self.mix), self.client(index))

    async def new_token(self, client: httpx.AsyncClient) -> str:
        response = await client.post("/api/webchat/sessions")
        response.raise_for_status()
        return response.json()["token"]

    async def precreate_tokens(self, count: int, concurrency: int = 16) -> None:
        remaining = [count]

        async def worker(index: int) -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                self.tokens.append(await self.new_token(self.client(index)))

        await asyncio.gather(*(worker(index) for index in range(concurrency)))

    async def _token_for(self, chatter: _Chatter) -> str:
        if chatter.sim.new_conversation or chatter.token is None:
            if self.tokens:
                chatter.token = self.tokens.popleft()
            else:
                self.inline_sessions += 1
                chatter.token = await self.new_token(chatter.client)
        return chatter.token

    async def send(self, chatter: _Chatter, record) -> None:
        """One message of ``chatter``; then ``record(ok, error kind, sent_at, done_at)``."""
        body = chatter.sim.next_message()
        sent_at = time.perf_counter()
        try:
            token = await self._token_for(chatter)
        except Exception as error:  # noqa: BLE001 - counted, the run goes on
            chatter.sim.abandon()
            record(False, f"session: {type(error).__name__}", sent_at, time.perf_counter())
            return
        sent_at = time.perf_counter()
        try:
            response = await chatter.client.post(
                "/api/webchat/messages", json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except Exception as error:  # noqa: BLE001
            chatter.sim.abandon()
            record(False, type(error).__name__, sent_at, time.perf_counter())
            return
        done_at = time.perf_counter()
        if response.status_code != 200:
            chatter.sim.abandon()
            record(False, f"HTTP {response.status_code}", sent_at, done_at)
            return
        chatter.sim.took(response.json().get("replies", []))
        record(True, "", sent_at, done_at)


class _Tally:
    def __init__(self) -> None:
        self.latency: list[float] = []
        self.service: list[float] = []
        self.errors: collections.Counter = collections.Counter()
        self.sent = 0
        self.skipped = 0
        self.late = 0


def _avg_messages_per_conversation(mix=None) -> float:
    mix = mix or MIX
    rng = random.Random(0)
    total = sum(w for w, _ in mix)
    return sum(w * len(make(rng, lambda: "+7 900 000-00-00")) for w, make in mix) / total


def _figures(mode: str, tally: _Tally, elapsed: float, cpu_client: float, cpu_server: float | None, server_pid: int, **extra) -> RunFigures:
    server_after = process_cpu_seconds(server_pid)
    return RunFigures(
        mode=mode,
        sent=tally.sent,
        ok=len(tally.latency),
        seconds=elapsed,
        latency=Latency.of(tally.latency),
        service=Latency.of(tally.service),
        errors=sum(tally.errors.values()),
        error_kinds=tally.errors,
        skipped=tally.skipped,
        late_sends=tally.late,
        client_cpu=(time.process_time() - cpu_client) / elapsed if elapsed else 0.0,
        server_cpu=(server_after - cpu_server) / elapsed if elapsed and cpu_server is not None and server_after is not None else None,
        **extra,
    )


async def fixed_rate(load: _Load, server_pid: int, *, rate: float, seconds: float, subscribers: int) -> RunFigures:
    """Open loop at ``rate`` messages/s for ``seconds`` among ``subscribers`` simulated
    subscribers. A tick that finds every subscriber still waiting for an answer is
    skipped (and counted): the server is then ``subscribers`` messages behind."""
    outcome = Outcome()
    await load.precreate_tokens(int(rate * seconds / _avg_messages_per_conversation(load.mix) * 1.3) + subscribers)
    idle = collections.deque(load.chatter(outcome, index) for index in range(subscribers))
    tally = _Tally()
    pending: set[asyncio.Task] = set()

    def finished(chatter: _Chatter, scheduled: float):
        def record(ok: bool, kind: str, sent_at: float, done_at: float) -> None:
            tally.service.append(done_at - sent_at)
            if ok:
                tally.latency.append(done_at - scheduled)
            else:
                tally.errors[kind] += 1
            if sent_at - scheduled > 0.005:
                tally.late += 1
            idle.append(chatter)

        return record

    cpu_client, cpu_server = time.process_time(), process_cpu_seconds(server_pid)
    start = time.perf_counter() + 0.01
    ticks = max(1, int(rate * seconds))
    for index in range(ticks):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not idle:
            tally.skipped += 1
            continue
        chatter = idle.popleft()
        task = asyncio.create_task(load.send(chatter, finished(chatter, scheduled)))
        pending.add(task)
        task.add_done_callback(pending.discard)
        tally.sent += 1
    if pending:
        await asyncio.wait(pending, timeout=DRAIN_TIMEOUT)
        unfinished = tuple(pending)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        if unfinished:
            tally.errors[f"no answer {DRAIN_TIMEOUT:.0f} s after the last send (cancelled)"] += len(unfinished)
    return _figures(
        "fixed rate", tally, time.perf_counter() - start, cpu_client, cpu_server, server_pid,
        offered_rate=rate, concurrency=0, subscribers=subscribers, outcome=outcome,
    )  # fmt: skip


async def max_throughput(load: _Load, server_pid: int, *, concurrency: int, seconds: float, max_messages: int) -> RunFigures:
    """Closed loop: ``concurrency`` subscribers, each sending as soon as it has its answer."""
    outcome = Outcome()
    tally = _Tally()
    budget = [max_messages]
    cpu_client, cpu_server = time.process_time(), process_cpu_seconds(server_pid)
    start = time.perf_counter()
    deadline = start + seconds

    def record(ok: bool, kind: str, sent_at: float, done_at: float) -> None:
        tally.service.append(done_at - sent_at)
        if ok:
            tally.latency.append(done_at - sent_at)
        else:
            tally.errors[kind] += 1

    async def worker(index: int) -> None:
        chatter = load.chatter(outcome, index)
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            tally.sent += 1
            await load.send(chatter, record)

    await asyncio.gather(*(worker(index) for index in range(concurrency)))
    return _figures(
        "max throughput", tally, time.perf_counter() - start, cpu_client, cpu_server, server_pid,
        offered_rate=None, concurrency=concurrency, subscribers=concurrency, outcome=outcome,
    )  # fmt: skip


async def run(
    backend: Backend,
    workdir: Path,
    *,
    rate: float,
    seconds: float,
    subscribers: int,
    max_seconds: float,
    max_concurrency: int,
    warmup_messages: int,
) -> HttpFigures:
    async with running_server(backend, workdir) as (base_url, process, startup, log_path):
        figures = HttpFigures(backend=backend.name, startup_seconds=startup)
        load = _Load(base_url, seed=20261118)
        try:
            if warmup_messages:
                await max_throughput(load, process.pid, concurrency=8, seconds=30, max_messages=warmup_messages)
            if seconds > 0:
                figures.runs.append(await fixed_rate(load, process.pid, rate=rate, seconds=seconds, subscribers=subscribers))
                # An overloaded server may still be working off abandoned requests.
                await until_idle(process.pid)
            if max_seconds > 0:
                figures.runs.append(
                    await max_throughput(
                        load, process.pid, concurrency=max_concurrency, seconds=max_seconds, max_messages=10**7
                    )
                )
        finally:
            await load.aclose()
        figures.server_log_tail = notable_log_lines(log_path)
    return figures


def notable_log_lines(path: Path, keep: int = 5) -> list[str]:
    """Warnings, errors and tracebacks the server logged (its start banner aside)."""
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return []
    notable = [line for line in lines if any(word in line for word in ("WARNING", "ERROR", "CRITICAL", "Traceback"))]
    if not notable:
        return []
    return [f"{len(notable)} warning/error lines, e.g.:"] + notable[:keep]


def describe(figures: HttpFigures) -> list[str]:
    lines = [f"  server ready in {figures.startup_seconds:.1f} s (migrations, demo data, NLU model)"]
    for run_ in figures.runs:
        out = run_.outcome
        cpu = f"client {run_.client_cpu:.0%}" + (f", server {run_.server_cpu:.0%}" if run_.server_cpu is not None else "")
        if run_.mode == "fixed rate":
            verdict = "met" if run_.target_met else "MISSED"
            lines.append(
                f"  fixed rate {run_.offered_rate:.0f} msg/s for {run_.seconds:.1f} s: achieved {run_.achieved_rate:.1f} msg/s, "
                f"{run_.ok:,}/{run_.sent:,} ok, errors {run_.errors}, {run_.subscribers} subscribers"
            )
            if run_.skipped:
                lines.append(
                    f"    NOT SENT: {run_.skipped:,} ticks found all {run_.subscribers} subscribers waiting for an answer "
                    "(the server fell that far behind)"
                )
            lines.append(f"    latency from the scheduled send: {run_.latency.ms()} — target p99 < {TARGET_P99_SECONDS * 1e3:.0f} ms: {verdict}")
            lines.append(f"    service time (from the actual send): {run_.service.ms()}; late sends (> 5 ms): {run_.late_sends}")
        else:
            lines.append(
                f"  max throughput, {run_.concurrency} subscribers at once, {run_.seconds:.1f} s: {run_.achieved_rate:.1f} msg/s, "
                f"{run_.ok:,}/{run_.sent:,} ok, errors {run_.errors}"
            )
            lines.append(f"    latency: {run_.latency.ms()}")
        lines.append(f"    CPU (share of one core): {cpu}")
        if run_.error_kinds:
            lines.append("    errors: " + ", ".join(f"{kind} ×{count}" for kind, count in run_.error_kinds.most_common()))
        lines.append(f"    unexpected answers: {out.unexpected}; missing buttons: {out.missing_button}; conversations: {out.conversations:,}")
        lines += [f"      unexpected: {sample}" for sample in out.samples]
    if figures.server_log_tail:
        lines.append("  server log:")
        lines += [f"    {line[:200]}" for line in figures.server_log_tail]
    return lines


