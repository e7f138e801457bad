"""The handoff queue's tickets carry when an agent is expected: place ÷ agents online ×
measured handle time, counted in the department's hours of the city (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from billing.passwords import INSECURE_FAST
from dispatcher import HandoffQueue
from dispatcher.agents import Agents
from dispatcher.estimate import HandoffWait, WaitEstimator
from reference.directory import default_directory

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)  # Wednesday, 12:00 in Moscow, 14:00 in Ufa


def build(db_sessions, *, default_minutes=7, default_agents=2):
    directory = default_directory()
    agents = Agents(
        db_sessions, directory, profile=INSECURE_FAST,
        session_idle=timedelta(hours=1), presence_timeout=timedelta(seconds=90),
    )
    estimator = WaitEstimator(
        db_sessions, agents, default_handle=timedelta(minutes=default_minutes), default_agents=default_agents
    )
    return HandoffQueue(db_sessions, wait=HandoffWait(estimator, directory)), agents


async def enqueue(queue, key, *, city="Уфа", department="subscriber", now=NOW):
    return await queue.enqueue(key, "telegram", city=city, department=department, reason="asked", now=now)


async def held(queue, minutes, n, *, city="Уфа", department="subscriber"):
    ticket = await enqueue(queue, f"tg:past{n}", city=city, department=department, now=NOW - timedelta(hours=3))
    assert await queue.claim(ticket.id, "a", now=NOW - timedelta(hours=1, minutes=minutes))
    assert await queue.close(ticket.id, "a", now=NOW - timedelta(hours=1))


async def test_without_measurements_the_configured_defaults_stand_in(db_sessions):
    queue, _ = build(db_sessions)  # 7 min ÷ 2 agents
    tickets = [await enqueue(queue, f"tg:{n}") for n in range(3)]
    assert [t.expected_at for t in tickets] == [NOW, NOW + timedelta(minutes=3.5), NOW + timedelta(minutes=7)]


async def test_measured_handle_time_over_agents_online(db_sessions):
    queue, agents = build(db_sessions)
    for n in range(3):
        await held(queue, 24, n)
    for login in ("anna", "boris", "vera"):
        await agents.add(login, "pw", cities="Уфа", departments="subscriber")
        await agents.set_presence((await agents.get(login)).id, "online", now=NOW)
    await agents.add("far", "pw", cities="Томск", departments="subscriber")  # another city's: not counted
    await agents.set_presence((await agents.get("far")).id, "online", now=NOW)
    tickets = [await enqueue(queue, f"tg:{n}") for n in range(3)]
    assert tickets[2].expected_at == NOW + 2 * timedelta(minutes=24) / 3


async def test_standing_is_estimated_again_and_assigned_has_none(db_sessions):
    queue, _ = build(db_sessions)
    first = await enqueue(queue, "tg:1")
    await enqueue(queue, "tg:2")
    later = NOW + timedelta(minutes=10)
    assert (await queue.standing("tg:2", now=later)).expected_at == later + timedelta(minutes=3.5)
    assert await queue.claim(first.id, "anna", now=later)
    assert (await queue.standing("tg:2", now=later)).expected_at == later  # now the first
    assert (await queue.standing("tg:1", now=later)).expected_at is None


async def test_closed_hours_do_not_count(db_sessions):
    queue, _ = build(db_sessions, default_minutes=60, default_agents=1)
    evening = datetime(2026, 11, 18, 15, 30, tzinfo=timezone.utc)  # 20:30 in Ufa, closes 21:00
    await enqueue(queue, "tg:1", now=evening)
    second = await enqueue(queue, "tg:2", now=evening)
    # 30 min before closing, 30 after Thursday's 09:00 in Ufa (04:00 UTC).
    assert second.expected_at == datetime(2026, 11, 19, 4, 30, tzinfo=timezone.utc)


async def test_unknown_city_has_no_estimate(db_sessions):
    queue, _ = build(db_sessions)
    assert (await enqueue(queue, "tg:1", city=None)).expected_at is None


async def test_queue_without_an_estimator_has_none(db_sessions):
    assert (await enqueue(HandoffQueue(db_sessions), "tg:1")).expected_at is None
