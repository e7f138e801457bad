"""A dialog turn on Redis costs two round trips: one script takes the lock, reads
the de-duplication key, counts the message and reads the conversation; one writes
the conversation and the result and releases the lock (StateStore.locked_turn)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from dialogs.engine import DialogEngine
from dialogs.messages import Inbound
from dialogs.nlu import NLU
from dialogs.state.redis import RedisStateStore

pytestmark = pytest.mark.redis


class CountingRedis(aioredis.Redis):
    """The real client, recording each round trip it makes: the names of the commands
    sent together (one alone, or a pipeline's)."""

    sent: list[tuple[str, ...]]

    async def execute_command(self, *args, **options):
        self.sent.append((str(args[0]).upper(),))
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint=None) -> Pipeline:
        return CountingPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint, sent=self.sent)


class CountingPipeline(Pipeline):
    def __init__(self, *args, sent: list[tuple[str, ...]]) -> None:
        super().__init__(*args)
        self._sent = sent

    async def execute(self, raise_on_error: bool = True):
        self._sent.append(tuple(str(args[0]).upper() for args, _ in self.command_stack))
        return await super().execute(raise_on_error)


@pytest.fixture
async def redis_store(redis_url):
    client = CountingRedis.from_url(redis_url)
    client.sent = []
    store = RedisStateStore(client, prefix=f"test:{uuid.uuid4().hex[:8]}:")
    yield store, client
    await store.close()
    await client.aclose()


def ask(text: str, message_id: str) -> Inbound:
    return Inbound(channel="webchat", user_id="u1", message_id=message_id, text=text)


async def test_a_turn_is_two_redis_round_trips(services, redis_store):
    store, client = redis_store
    engine = DialogEngine(services, NLU(services.directory), store=store)
    first = await engine.handle(ask("Какой режим работы офиса в Уфе?", "m1"))
    assert "Уфа" in first.replies[0].text
    assert client.sent == [("EVALSHA",), ("EVALSHA",)]

    client.sent.clear()
    follow_up = await engine.handle(ask("а в Нальчике?", "m2"))  # needs the stored conversation
    assert "Нальчик" in follow_up.replies[0].text
    assert client.sent == [("EVALSHA",), ("EVALSHA",)]


async def test_concurrent_turns_share_their_round_trips(services, redis_store):
    store, client = redis_store
    engine = DialogEngine(services, NLU(services.directory), store=store)
    inbounds = [
        Inbound(channel="webchat", user_id=f"u{i}", message_id="m1", text="Как оплатить интернет?") for i in range(10)
    ]
    results = await asyncio.gather(*(engine.handle(inbound) for inbound in inbounds))
    assert all("оплат" in result.replies[0].text.lower() for result in results)
    # The ten turns' starts went in one pipeline; each turn still ran its two scripts.
    assert client.sent[0] == ("EVALSHA",) * 10
    assert sum(len(trip) for trip in client.sent) == 20
    assert len(client.sent) < 20


async def test_a_redelivered_message_gets_its_result_once_and_is_not_counted(services, redis_store):
    store, client = redis_store
    engine = DialogEngine(services, NLU(services.directory), store=store)
    first = await engine.handle(ask("Как оплатить интернет?", "m1"))
    again = await engine.handle(ask("Как оплатить интернет?", "m1"))
    assert again.duplicate and [r.text for r in again.replies] == [r.text for r in first.replies]
    assert await store.incr("rate:webchat:u1", 60) == 2  # the re-delivery was not counted
    conversation = await engine.conversations.find("webchat:u1")
    assert conversation is not None and conversation.last_intent is not None


async def test_too_fast_on_redis_answers_and_keeps_nothing(services, redis_store):
    store, _ = redis_store
    engine = DialogEngine(services, NLU(services.directory), store=store)
    for _ in range(engine.limits.messages_per_minute):
        await store.incr("rate:webchat:u1", 60)
    result = await engine.handle(ask("Как оплатить интернет?", "m1"))
    assert "Слишком много сообщений" in result.replies[0].text
    assert await store.get("dedup:webchat:u1:m1") is None  # a retry later is a new try
    assert await engine.conversations.find("webchat:u1") is None
