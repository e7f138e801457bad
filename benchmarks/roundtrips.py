"""Round trips of one web chat turn: Redis commands and SQL statements, counted on
the wire side of the libraries (redis-py's connection sends, SQLAlchemy's cursor
executions) while the app's own container answers turns one at a time in this
process. What profiling cannot show on a loaded machine: how many times a turn waits
for the network. Turns run sequentially, so nothing else is counted but the
container's background work: the transcript, which the turn queues and a background
task writes in batches off the reply path, is counted apart."""

from __future__ import annotations

import collections
import random
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.engine_bench import settings_for
from benchmarks.infra import Backend
from benchmarks.scenarios import MIX, QUESTIONS_MIX, Outcome, PhoneNumbers, Subscriber

TRANSCRIPT_TABLE = "transcript_messages"  # written in batches after the replies


@dataclass(frozen=True)
class RoundTrips:
    backend: str
    mix: str
    turns: int
    redis_sends: (
        float  # per turn: network writes by redis-py (a pipeline or script is one)
    )
    redis_commands: dict[str, float]  # per turn, by command
    # per turn: the sends before the dialog ran — the turn's lock, de-duplication, rate
    # count and state (issue 11: one round trip for these); the rest come after it or
    # from skills (a login's attempt counters)
    redis_sends_to_begin: float
    sql_statements: float  # per turn, on the reply path
    sql_by_kind: dict[str, float]  # per turn: first word and table
    sql_after_reply: float  # per turn: transcript batches, written after the replies
    unexpected: int  # answers that missed the scenario's expected text


class _Counter:
    def __init__(self) -> None:
        self.redis_sends = 0
        self.redis_commands: collections.Counter = collections.Counter()
        self.sql: collections.Counter = collections.Counter()
        # Where in its turn each Redis send happened: "begin" (set by the caller when a
        # turn starts: the gate's lock, de-duplication, rate and state), "dialog" (while
        # the policies and skills run), "end" (after them: the state written, the lock freed).
        self.phase = "begin"
        self.sends_by_phase: collections.Counter = collections.Counter()

    def reset(self) -> None:
        self.__init__()


@contextmanager
def counting():
    """Wrap redis-py's send and command entry points and listen to SQLAlchemy's
    cursor executions, for this process, for the duration of the block."""
    from redis.asyncio.client import Pipeline, Redis
    from redis.asyncio.connection import AbstractConnection
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    import dialogs.engine as engine_module

    counter = _Counter()
    originals = (
        AbstractConnection.send_packed_command,
        Redis.execute_command,
        Pipeline.execute,
    )

    async def send_packed_command(self, command, check_health=True):
        counter.redis_sends += 1
        counter.sends_by_phase[counter.phase] += 1
        return await originals[0](self, command, check_health)

    async def execute_command(self, *args, **options):
        if not isinstance(self, Pipeline):
            counter.redis_commands[str(args[0]).upper()] += 1
        return await originals[1](self, *args, **options)

    async def execute(self, raise_on_error=True):
        names = [str(command[0][0]).upper() for command in self.command_stack]
        counter.redis_commands[f"PIPELINE({'+'.join(names)})"] += 1
        return await originals[2](self, raise_on_error)

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        tables = [
            words[i + 1].strip('"(')
            for i, word in enumerate(words[:-1])
            if word.upper() in ("FROM", "INTO", "UPDATE", "JOIN")
        ]
        counter.sql[f"{words[0].upper()} {'+'.join(sorted(set(tables)))}".strip()] += 1

    original_decide = engine_module.decide

    async def decide(*args, **kwargs):
        counter.phase = "dialog"
        try:
            return await original_decide(*args, **kwargs)
        finally:
            counter.phase = "end"

    AbstractConnection.send_packed_command = send_packed_command
    Redis.execute_command = execute_command
    Pipeline.execute = execute
    engine_module.decide = decide  # the engine looks it up at each turn
    event.listen(Engine, "before_cursor_execute", on_execute)
    try:
        yield counter
    finally:
        engine_module.decide = original_decide
        (
            AbstractConnection.send_packed_command,
            Redis.execute_command,
            Pipeline.execute,
        ) = originals
        event.remove(Engine, "before_cursor_execute", on_execute)


async def run(backend: Backend, workdir: Path, *, turns: int = 60) -> list[RoundTrips]:
    """Two mixes: the side-by-side run's standalone questions, and the full scenario
    mix (logins, balance, the callback form: the billing reads)."""
    from app.container import build_container

    container = await build_container(settings_for(backend, workdir))
    try:
        return [
            await _measure(container, backend.name, "questions", QUESTIONS_MIX, turns),
            await _measure(container, backend.name, "full mix", MIX, turns * 2),
        ]
    finally:
        await container.close()


async def _measure(
    container, backend: str, mix_name: str, mix, turns: int
) -> RoundTrips:
    from dialogs.messages import Inbound

    sim = Subscriber(
        random.Random(20261130), PhoneNumbers(hash(mix_name) % 10_000), Outcome(), mix
    )
    run_id = uuid.uuid4().hex[:8]

    async def turn() -> None:
        body = sim.next_message()
        result = await container.engine.handle(
            Inbound(channel="webchat", user_id=f"rt-{run_id}-{sim.serial}", message_id=uuid.uuid4().hex,
                    text=body.get("text"), payload=body.get("payload"))
        )  # fmt: skip
        sim.took([reply.to_dict() for reply in result.replies])

    for _ in range(10):  # warm-up: pools, caches, script loading
        await turn()
    await container.transcript.flush()
    with counting() as counter:
        for _ in range(turns):
            counter.phase = "begin"
            await turn()
        await container.transcript.flush()
    after = sum(
        count for name, count in counter.sql.items() if TRANSCRIPT_TABLE in name
    )
    sql = {
        name: count
        for name, count in counter.sql.items()
        if TRANSCRIPT_TABLE not in name
    }
    return RoundTrips(
        backend=backend,
        mix=mix_name,
        turns=turns,
        redis_sends=counter.redis_sends / turns,
        redis_sends_to_begin=counter.sends_by_phase["begin"] / turns,
        redis_commands={
            name: count / turns for name, count in counter.redis_commands.most_common()
        },
        sql_statements=sum(sql.values()) / turns,
        sql_by_kind={
            name: count / turns
            for name, count in sorted(sql.items(), key=lambda item: -item[1])
        },
        sql_after_reply=after / turns,
        unexpected=sim.outcome.unexpected,
    )


def describe(figures: RoundTrips) -> list[str]:
    lines = [
        f"  {figures.backend}, {figures.mix}: per turn ({figures.turns} turns one at a time; unexpected answers {figures.unexpected}):"
    ]
    if figures.redis_commands:
        lines.append(
            f"    Redis: {figures.redis_sends:.1f} round trips ({figures.redis_sends_to_begin:.1f} to begin the turn: "
            "lock, de-duplication, rate, state) — "
            + ", ".join(
                f"{name} {count:.2f}" for name, count in figures.redis_commands.items()
            )
        )
    lines.append(
        f"    SQL on the reply path: {figures.sql_statements:.1f} statements — "
        + ", ".join(
            f"{name} {count:.2f}"
            for name, count in list(figures.sql_by_kind.items())[:8]
        )
    )
    lines.append(
        f"    SQL after the reply (transcript batches): {figures.sql_after_reply:.2f} statements"
    )
    return lines
