"""Dialog turns in-process: ``DialogEngine.handle`` turns per second, with the
container the app builds (real database, state store, transcript, queues)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from app.container import build_container
from app.settings import Settings
from benchmarks.infra import SECRET_KEY, Backend, Latency
from benchmarks.scenarios import Outcome, PhoneNumbers, Subscriber
from dialogs.messages import Inbound

TARGET_PER_SECOND = 1_000


@dataclass
class EngineFigures:
    backend: str
    turns: int
    seconds: float
    latency: Latency
    cpu_share: float  # this process's CPU time / wall time (1.0 = one core busy)
    concurrency: int
    errors: int
    outcome: Outcome
    error_samples: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    @property
    def target_met(self) -> bool:
        return self.per_second >= TARGET_PER_SECOND


def settings_for(backend: Backend, workdir: Path) -> Settings:
    return Settings(
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        redis_prefix=backend.redis_prefix,
        demo=True,
        # Cheap argon2 parameters for the demo subscribers' hashes: logins in the mix
        # then cost microseconds, so the figure excludes password hashing.
        password_hash_profile="insecure-fast",
        secret_key=SECRET_KEY,
        secret_key_file=workdir / "secret",
        log_level="WARNING",
        _env_file=None,
    )


class _Drive:
    """Closed loop: ``concurrency`` simulated subscribers, each sending its next
    message as soon as the previous one is answered."""

    def __init__(self, engine, backend: str, concurrency: int, seed: int) -> None:
        self.engine = engine
        self.backend = backend
        self.concurrency = concurrency
        self.phones = PhoneNumbers(seed)
        self.rng = random.Random(seed)
        self.run_id = uuid.uuid4().hex[:8]
        self.phases = 0

    async def phase(self, turns: int, time_limit: float) -> EngineFigures:
        outcome = Outcome()
        latencies: list[float] = []
        error_samples: list[str] = []
        errors = 0
        budget = turns
        deadline = time.perf_counter() + time_limit
        self.phases += 1
        phase = self.phases

        async def subscriber(worker: int) -> None:
            nonlocal budget, errors
            sim = Subscriber(random.Random(self.rng.random()), self.phones, outcome)
            while budget > 0 and time.perf_counter() < deadline:
                budget -= 1
                body = sim.next_message()
                inbound = Inbound(
                    channel="webchat",
                    user_id=f"bench-{self.run_id}-{phase}-{worker}-{sim.serial}",  # a new one per conversation
                    message_id=uuid.uuid4().hex,
                    text=body.get("text"),
                    payload=body.get("payload"),
                )
                begin = time.perf_counter()
                try:
                    result = await self.engine.handle(inbound)
                except Exception as error:  # noqa: BLE001 - count it, keep going
                    errors += 1
                    if len(error_samples) < 5:
                        error_samples.append(f"{type(error).__name__}: {error}")
                    sim.abandon()
                    continue
                latencies.append(time.perf_counter() - begin)
                sim.took([reply.to_dict() for reply in result.replies])

        cpu_before = time.process_time()
        begin = time.perf_counter()
        await asyncio.gather(*(subscriber(worker) for worker in range(self.concurrency)))
        elapsed = time.perf_counter() - begin
        cpu = time.process_time() - cpu_before
        return EngineFigures(
            backend=self.backend,
            turns=len(latencies),
            seconds=elapsed,
            latency=Latency.of(latencies),
            cpu_share=cpu / elapsed if elapsed else 0.0,
            concurrency=self.concurrency,
            errors=errors,
            outcome=outcome,
            error_samples=error_samples,
        )


async def run(backend: Backend, workdir: Path, *, turns: int, warmup_turns: int, concurrency: int, time_limit: float) -> EngineFigures:
    """Build the container as the app does, warm up, then time ``turns`` turns (or
    ``time_limit`` seconds, whichever ends first)."""
    container = await build_container(settings_for(backend, workdir))
    try:
        drive = _Drive(container.engine, backend.name, concurrency, seed=20261118)
        if warmup_turns:
            await drive.phase(warmup_turns, time_limit)
        return await drive.phase(turns, time_limit)
    finally:
        await container.close()


def describe(figures: EngineFigures) -> list[str]:
    met = "met" if figures.target_met else "MISSED"
    out = figures.outcome
    lines = [
        f"  {figures.per_second:,.0f} turns/s ({figures.turns:,} turns in {figures.seconds:.1f} s, "
        f"{figures.concurrency} subscribers at once, {out.conversations:,} conversations) — "
        f"target ≥ {TARGET_PER_SECOND:,}/s: {met}",
        f"  turn latency: {figures.latency.ms()}; this process used {figures.cpu_share:.0%} of one core",
        f"  errors: {figures.errors}; unexpected answers: {out.unexpected}; missing buttons: {out.missing_button}",
    ]
    lines += [f"    error: {sample}" for sample in figures.error_samples]
    lines += [f"    unexpected: {sample}" for sample in out.samples]
    return lines
