"""The "held by an agent?" read: a new conversation is looked up in SQL only when the
handoff marks in the StateStore cannot rule out that it was queued for agents; an
agent's hold silences the bot even when the store lost the conversation or all its
data (dispatcher/handoff_marks.py). Real queue, real database, each StateStore."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager

from sqlalchemy import event

from dialogs.engine import DialogEngine
from dialogs.messages import Inbound
from dialogs.nlu import NLU
from dialogs.state.memory import MemoryStateStore
from dispatcher import HandoffQueue
from dispatcher.handoff_marks import COMPLETE_KEY, HandoffMarks, Queued, mark_key


@contextmanager
def counted_sql(db_engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db_engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db_engine.sync_engine, "before_cursor_execute", count)


def ask(user: str, message_id: str, text: str = "Как оплатить интернет?") -> Inbound:
    return Inbound(channel="webchat", user_id=user, message_id=message_id, text=text)


def engine_on(services, db_sessions, store) -> tuple[DialogEngine, HandoffQueue]:
    queue = HandoffQueue(db_sessions, store=store)
    services = dataclasses.replace(services, handoffs=queue)
    return DialogEngine(services, NLU(services.directory), store=store, handoff_marks=queue.marks), queue


async def held(queue: HandoffQueue, conversation_key: str) -> None:
    ticket = await queue.enqueue(conversation_key, "webchat", city="Уфа", department="subscriber", reason="asked")
    assert await queue.claim(ticket.id, "agent1")


async def test_a_new_conversation_is_not_looked_up_once_the_marks_are_complete(services, db_engine, db_sessions, state_store):
    engine, _ = engine_on(services, db_sessions, state_store)
    with counted_sql(db_engine) as first:
        answer = await engine.handle(ask("u1", "m1"))
    assert "оплат" in answer.replies[0].text.lower()
    assert first  # no complete marks yet: the database was asked, and the marks rebuilt
    assert await state_store.get(COMPLETE_KEY) is not None

    with counted_sql(db_engine) as later:
        answer = await engine.handle(ask("u2", "m1"))
    assert "оплат" in answer.replies[0].text.lower()
    assert later == []


async def test_a_hold_silences_the_bot_when_the_store_forgot_the_conversation(services, db_engine, db_sessions, state_store):
    engine, queue = engine_on(services, db_sessions, state_store)
    await engine.handle(ask("u0", "m1"))  # the marks are complete from here on
    await engine.handle(ask("u1", "m1"))
    await held(queue, "webchat:u1")
    await state_store.delete(engine.conversations.state_key("webchat:u1"))  # e.g. expired

    with counted_sql(db_engine) as statements:
        result = await engine.handle(ask("u1", "m2"))
    assert result.held_by_agent and result.replies == []
    assert statements  # the mark sent it to the database


async def test_a_hold_silences_the_bot_after_the_store_lost_all_its_data(services, db_engine, db_sessions):
    before = MemoryStateStore()
    engine, queue = engine_on(services, db_sessions, before)
    await engine.handle(ask("u0", "m1"))
    await held(queue, "webchat:u1")

    emptied = MemoryStateStore()  # a restarted process, a flushed Redis
    engine, queue = engine_on(services, db_sessions, emptied)
    result = await engine.handle(ask("u1", "m2"))
    assert result.held_by_agent
    assert await emptied.get(mark_key("webchat:u1")) is not None  # rebuilt from SQL
    with counted_sql(db_engine) as statements:
        assert not (await engine.handle(ask("u2", "m1"))).held_by_agent
    assert statements == []


async def test_queueing_marks_the_conversation_before_the_row_exists(db_sessions, state_store):
    queue = HandoffQueue(db_sessions, store=state_store)
    await state_store.set(COMPLETE_KEY, "1")
    values = await _marks_of(state_store, "webchat:u9")
    assert HandoffMarks.verdict(values) is Queued.NEVER
    await queue.enqueue("webchat:u9", "webchat", city=None, department="subscriber", reason="asked")
    assert HandoffMarks.verdict(await _marks_of(state_store, "webchat:u9")) is Queued.MARKED
    assert await queue.open_conversation_keys() == ["webchat:u9"]


async def test_without_the_complete_key_the_verdict_is_unknown(state_store):
    assert HandoffMarks.verdict(await _marks_of(state_store, "webchat:u1")) is Queued.UNKNOWN
    assert HandoffMarks.verdict(()) is Queued.UNKNOWN  # a re-delivery reads nothing


async def _marks_of(store, conversation_key: str) -> tuple[str | None, ...]:
    return tuple([await store.get(key) for key in HandoffMarks.keys(conversation_key)])
