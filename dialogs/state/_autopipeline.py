"""Auto-pipelining of the dialog turn's Lua scripts (RedisStateStore).

A served process answers many conversations at once, and each turn sends a script at
its start and another at its end. Sent one by one, every call costs redis-py a pool
checkout, a packed write, a socket read and a release: on PostgreSQL + Redis that was
about a quarter of a web chat message's CPU (README, Benchmarks). ``ScriptPipeline``
sends every call made within one pass of the event loop as one redis-py pipeline
(``transaction=False``): one connection, one write, one read for the lot, as ioredis'
``enableAutoPipelining`` does — redis-py has no such mode (redis/redis-py#3767).

Each call is still its own script on the server (a pipeline is not a transaction: one
call's error is that call's alone) and its caller gets its own result or error. A
lone call waits only for the loop to come round once. Every queued call is sent even
if its caller stops waiting — a turn's end must release its lock regardless; a caller
that may stop waiting on a call that takes something (the lock) passes ``abandoned``
to give it back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

log = logging.getLogger(__name__)

# One pipeline carries at most this many calls; a busier pass of the loop sends several
# at once, each on its own connection (so one huge reply never holds up every turn).
MAX_CALLS_PER_PIPELINE = 64


@dataclass(slots=True)
class _Call:
    script: AsyncScript
    keys: Sequence[str]
    args: Sequence[Any]
    reply: asyncio.Future
    # Called with the result when nobody waits for it any more (see the module).
    abandoned: Callable[[Any], None] | None


class ScriptPipeline:
    def __init__(self, client: aioredis.Redis, *, max_calls: int = MAX_CALLS_PER_PIPELINE) -> None:
        self._client = client
        self._max_calls = max_calls
        self._queued: list[_Call] = []
        self._sending: set[asyncio.Task] = set()

    def call(
        self,
        script: AsyncScript,
        keys: Sequence[str],
        args: Sequence[Any],
        *,
        abandoned: Callable[[Any], None] | None = None,
    ) -> asyncio.Future:
        """Queue ``script(keys, args)`` for this pass of the loop; the future gets its reply."""
        loop = asyncio.get_running_loop()
        reply = loop.create_future()
        self._queued.append(_Call(script, keys, args, reply, abandoned))
        if len(self._queued) == 1:
            loop.call_soon(self._send_queued)
        return reply

    def _send_queued(self) -> None:
        queued, self._queued = self._queued, []
        for start in range(0, len(queued), self._max_calls):
            self._track(self._send(queued[start : start + self._max_calls]))

    def _track(self, sending: Coroutine[Any, Any, None]) -> None:
        """Run ``sending`` as a task kept until it ends (``drain`` waits for it)."""
        task = asyncio.ensure_future(sending)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for call in calls:
                    pipe.execute_command("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as error:  # noqa: BLE001 - every caller gets it; nothing is left hanging
            for call in calls:
                _fail(call, error)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        for call, reply in zip(calls, replies):
            if isinstance(reply, NoScriptError):
                # Redis lost its scripts (a restart, SCRIPT FLUSH): the script did not
                # run. The call alone, through the Script, which loads it again.
                self._retry_alone(call)
            elif isinstance(reply, Exception):
                _fail(call, reply)
            else:
                _deliver(call, reply)

    def _retry_alone(self, call: _Call) -> None:
        async def retry() -> None:
            try:
                reply = await call.script(keys=list(call.keys), args=list(call.args))
            except BaseException as error:  # noqa: BLE001 - as in _send
                _fail(call, error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                return
            _deliver(call, reply)

        self._track(retry())

    async def drain(self) -> None:
        """Wait until every call queued so far has its reply (before closing the client)."""
        while self._queued or self._sending:
            if self._queued:
                self._send_queued()
            await asyncio.gather(*self._sending, return_exceptions=True)


def _deliver(call: _Call, reply: Any) -> None:
    if not call.reply.done():
        call.reply.set_result(reply)
    elif call.abandoned is not None:
        try:
            call.abandoned(reply)
        except Exception:  # noqa: BLE001 - one caller's clean-up never fails the others'
            log.exception("clean-up of an abandoned Redis script call failed")


def _fail(call: _Call, error: BaseException) -> None:
    if call.reply.done():
        return
    if isinstance(error, asyncio.CancelledError):
        call.reply.cancel()
    else:
        call.reply.set_exception(error)
