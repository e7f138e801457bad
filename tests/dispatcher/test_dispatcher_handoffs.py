"""Handoff queue on SQLite and PostgreSQL: one per conversation, one winner, holder."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from dispatcher import HandoffQueue, UnknownDepartment
from dispatcher.models import Handoff

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=timezone.utc)


async def enqueue(queue: HandoffQueue, key: str, *, city: str | None = "Москва", department="subscriber", now=NOW):
    return await queue.enqueue(
        key, "telegram", city=city, department=department, account_number=None, reason="asked", now=now
    )


async def test_one_open_handoff_per_conversation(db_sessions):
    queue = HandoffQueue(db_sessions)
    first = await enqueue(queue, "tg:1")
    second = await enqueue(queue, "tg:2")
    again = await enqueue(queue, "tg:1")

    assert (first.position, second.position) == (1, 2)
    assert not first.already_waiting and again.already_waiting
    assert again.id == first.id and again.position == 1


async def test_concurrent_enqueue_of_one_conversation_stores_one(db_sessions):
    queue = HandoffQueue(db_sessions)
    tickets = await asyncio.gather(*(enqueue(queue, "wa:1") for _ in range(10)))
    assert len({t.id for t in tickets}) == 1
    assert sum(not t.already_waiting for t in tickets) == 1
    async with db_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Handoff)) == 1


async def test_ten_agents_claiming_one_conversation(db_sessions):
    queue = HandoffQueue(db_sessions)
    ticket = await enqueue(queue, "vb:1")
    results = await asyncio.gather(*(queue.claim(ticket.id, f"agent{i}", now=NOW) for i in range(10)))
    assert results.count(True) == 1
    winner = f"agent{results.index(True)}"
    assert await queue.holder("vb:1") == winner
    again = await enqueue(queue, "vb:1")
    assert again.already_waiting and again.status == "assigned" and again.assigned_to == winner and again.position == 0


async def test_holder_silences_the_bot_until_closed(db_sessions):
    queue = HandoffQueue(db_sessions)
    assert await queue.holder("web:1") is None and not await queue.is_open("web:1")
    ticket = await enqueue(queue, "web:1")
    assert await queue.is_open("web:1") and await queue.holder("web:1") is None  # waiting: nobody holds it yet

    assert await queue.claim(ticket.id, "olga", now=NOW)
    assert await queue.holder("web:1") == "olga"
    assert [h.conversation_key for h in await queue.held_by("olga")] == ["web:1"]
    assert not await queue.close(ticket.id, "ivan", now=NOW)  # not his
    assert await queue.close(ticket.id, "olga", now=NOW)
    assert await queue.holder("web:1") is None and not await queue.is_open("web:1")
    assert not await queue.claim(ticket.id, "ivan", now=NOW)  # closed ones cannot be taken

    new = await enqueue(queue, "web:1")
    assert not new.already_waiting and new.id != ticket.id


async def test_claim_next_is_fifo_per_city_and_department(db_sessions):
    queue = HandoffQueue(db_sessions)
    a = await enqueue(queue, "c:a")
    tech = await enqueue(queue, "c:tech", department="tech")
    tomsk = await enqueue(queue, "c:tomsk", city="Томск")
    unknown = await enqueue(queue, "c:unknown", city=None)
    b = await enqueue(queue, "c:b")
    assert (tech.position, tomsk.position, unknown.position, b.position) == (1, 1, 1, 2)

    assert (await queue.claim_next("Москва", "subscriber", "olga", now=NOW)).id == a.id
    taken = await queue.claim_next("Москва", "subscriber", "ivan", now=NOW)
    assert taken.id == b.id and taken.assigned_to == "ivan" and taken.conversation_key == "c:b"
    assert await queue.claim_next("Москва", "subscriber", "olga", now=NOW) is None
    assert (await queue.claim_next(None, "subscriber", "olga", now=NOW)).id == unknown.id
    assert (await queue.claim_next("Томск", "subscriber", "olga", now=NOW)).id == tomsk.id
    assert (await queue.claim_next("Москва", "tech", "olga", now=NOW)).id == tech.id


async def test_claim_next_race_gives_each_conversation_to_one_agent(db_sessions):
    queue = HandoffQueue(db_sessions)
    for i in range(3):
        await enqueue(queue, f"c:{i}")
    results = await asyncio.gather(*(queue.claim_next("Москва", "subscriber", f"a{i}", now=NOW) for i in range(10)))
    taken = [r for r in results if r is not None]
    assert len(taken) == 3 and len({r.id for r in taken}) == 3


async def test_waiting_list_filters_and_withdraw(db_sessions):
    queue = HandoffQueue(db_sessions)
    await enqueue(queue, "c:1")
    await enqueue(queue, "c:2", department="tech", now=NOW + timedelta(minutes=1))
    await enqueue(queue, "c:3", city="Уфа")

    assert [h.conversation_key for h in await queue.waiting()] == ["c:1", "c:2", "c:3"]
    assert [h.conversation_key for h in await queue.waiting(city="Москва")] == ["c:1", "c:2"]
    assert [h.conversation_key for h in await queue.waiting(department="tech")] == ["c:2"]

    assert await queue.withdraw("c:1", now=NOW)
    assert not await queue.is_open("c:1")
    assert [h.conversation_key for h in await queue.waiting(city="Москва")] == ["c:2"]


async def test_withdraw_leaves_an_assigned_conversation_to_the_agent(db_sessions):
    queue = HandoffQueue(db_sessions)
    ticket = await enqueue(queue, "c:1")
    await queue.claim(ticket.id, "olga", now=NOW)
    assert not await queue.withdraw("c:1", now=NOW)
    assert await queue.holder("c:1") == "olga"


async def test_release_puts_it_back_in_its_place(db_sessions):
    queue = HandoffQueue(db_sessions)
    first = await enqueue(queue, "c:1")
    await enqueue(queue, "c:2")
    assert await queue.claim(first.id, "olga", now=NOW)
    assert not await queue.release(first.id, "ivan")
    assert await queue.release(first.id, "olga")
    assert await queue.holder("c:1") is None
    assert (await queue.claim_next("Москва", "subscriber", "ivan", now=NOW)).id == first.id


async def test_unknown_department_and_empty_reason_are_refused(db_sessions):
    queue = HandoffQueue(db_sessions)
    with pytest.raises(UnknownDepartment):
        await enqueue(queue, "c:1", department="sales")
    with pytest.raises(ValueError):
        await queue.enqueue("c:1", "viber", city=None, department="tech", reason="  ", now=NOW)
    assert not await queue.is_open("c:1")
