"""Callback queue on SQLite and PostgreSQL: FIFO, hours, estimates, races, retries."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from reference.directory import default_directory
from dispatcher import CallbackQueue, NotFound, NotHeldByAgent, UnknownCity, UnknownDepartment
from dispatcher.models import CallbackRequest

MOSCOW = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


def at(tz: ZoneInfo, *args) -> datetime:
    """A local wall time as aware UTC. 2025-06-02 is a Monday, 2025-06-07 a Saturday."""
    return datetime(*args, tzinfo=tz).astimezone(timezone.utc)


def msk(*args) -> datetime:
    return at(MOSCOW, *args)


def phone(n: int) -> str:
    return f"+7900000{n:04d}"


def make_queue(db_sessions, **overrides) -> CallbackQueue:
    settings = dict(minutes_per_request=7, agents_per_queue=2, max_attempts=3, retry_minutes=30)
    settings.update(overrides)
    return CallbackQueue(db_sessions, default_directory(), **settings)


async def count_rows(db_sessions, **where) -> int:
    async with db_sessions() as session:
        query = select(func.count()).select_from(CallbackRequest)
        for column, value in where.items():
            query = query.where(getattr(CallbackRequest, column) == value)
        return await session.scalar(query)


# -- position and expected time -----------------------------------------------------------


async def test_positions_and_estimates_inside_hours(db_sessions):
    queue = make_queue(db_sessions)  # 7 minutes a call, 2 agents → 3.5 minutes per place
    now = msk(2025, 6, 2, 10, 0)
    tickets = [await queue.request("Москва", "subscriber", phone(i), now=now) for i in range(3)]

    assert [t.position for t in tickets] == [1, 2, 3]
    assert [t.expected_at for t in tickets] == [now, now + timedelta(minutes=3.5), now + timedelta(minutes=7)]
    assert not any(t.scheduled or t.already_queued for t in tickets)
    assert all(t.status == "queued" and t.city == "Москва" for t in tickets)


async def test_estimate_near_closing_rolls_into_next_morning(db_sessions):
    queue = make_queue(db_sessions, minutes_per_request=10, agents_per_queue=1)
    now = msk(2025, 6, 2, 20, 50)  # Monday, closes at 21:00
    tickets = [await queue.request("Москва", "subscriber", phone(i), now=now) for i in range(3)]

    assert tickets[0].expected_at == now
    assert tickets[1].expected_at == msk(2025, 6, 3, 9, 0)  # would start at the closing minute
    assert tickets[2].expected_at == msk(2025, 6, 3, 9, 10)  # 10 min today, 10 min tomorrow
    assert not any(t.scheduled for t in tickets)  # callable now; only the estimate rolls


async def test_weekend_hours(db_sessions):
    queue = make_queue(db_sessions, minutes_per_request=10, agents_per_queue=1)
    friday_evening = msk(2025, 6, 6, 20, 30)  # weekdays close at 21:00
    assert not (await queue.request("Москва", "subscriber", phone(1), now=friday_evening)).scheduled

    saturday = msk(2025, 6, 7, 17, 55)  # Saturday closes at 18:00
    first = await queue.request("Липецк", "subscriber", phone(2), now=saturday)
    second = await queue.request("Липецк", "subscriber", phone(3), now=saturday)
    assert first.expected_at == saturday
    assert second.expected_at == msk(2025, 6, 8, 9, 5)  # 5 min on Saturday, 5 on Sunday

    saturday_night = msk(2025, 6, 7, 19, 0)
    late = await queue.request("Тамбов", "subscriber", phone(4), now=saturday_night)
    assert late.scheduled
    assert late.scheduled_for == late.expected_at == msk(2025, 6, 8, 9, 0)  # Sunday opens at 09:00


async def test_same_instant_is_night_in_moscow_and_day_in_vladivostok(db_sessions):
    queue = make_queue(db_sessions)
    early = datetime(2025, 6, 2, 2, 0, tzinfo=timezone.utc)  # 05:00 in Moscow, 12:00 in Vladivostok

    moscow = await queue.request("Москва", "subscriber", phone(1), now=early)
    vladivostok = await queue.request("Владивосток", "subscriber", phone(2), now=early)
    assert moscow.scheduled and moscow.scheduled_for == msk(2025, 6, 2, 9, 0)
    assert not vladivostok.scheduled and vladivostok.expected_at == early

    late = datetime(2025, 6, 2, 12, 30, tzinfo=timezone.utc)  # 15:30 in Moscow, 22:30 in Vladivostok
    moscow = await queue.request("Москва", "subscriber", phone(3), now=late)
    vladivostok = await queue.request("Владивосток", "subscriber", phone(4), now=late)
    assert not moscow.scheduled
    assert vladivostok.scheduled and vladivostok.scheduled_for == at(VLADIVOSTOK, 2025, 6, 3, 9, 0)


async def test_outside_hours_is_scheduled_for_the_opening_and_not_callable_before(db_sessions):
    queue = make_queue(db_sessions)
    sunday_night = msk(2025, 6, 8, 20, 0)
    monday_nine = msk(2025, 6, 9, 9, 0)

    first = await queue.request("Москва", "subscriber", phone(1), now=sunday_night)
    second = await queue.request("Москва", "subscriber", phone(2), now=sunday_night + timedelta(minutes=5))
    assert first.scheduled and first.scheduled_for == monday_nine and first.expected_at == monday_nine
    assert second.position == 2 and second.expected_at == monday_nine + timedelta(minutes=3.5)

    assert await queue.claim_next("Москва", "subscriber", "olga", now=sunday_night + timedelta(hours=1)) is None
    claimed = await queue.claim_next("Москва", "subscriber", "olga", now=monday_nine)
    assert claimed is not None and claimed.id == first.id


async def test_tech_support_answers_around_the_clock(db_sessions):
    queue = make_queue(db_sessions)
    night = msk(2025, 6, 8, 3, 0)
    ticket = await queue.request("Москва", "tech", phone(1), now=night)
    assert not ticket.scheduled and ticket.expected_at == night
    assert (await queue.claim_next("Москва", "tech", "ivan", now=night)).id == ticket.id


async def test_a_later_request_in_the_same_queue_learns_its_new_position(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    await queue.request("Москва", "subscriber", phone(1), now=now)
    mine = await queue.request("Москва", "subscriber", phone(2), conversation_key="tg:2", now=now)
    assert mine.position == 2

    await queue.claim_next("Москва", "subscriber", "olga", now=now)
    [ticket] = await queue.open_for_conversation("tg:2", now=now)
    assert ticket.position == 1 and ticket.expected_at == now


# -- FIFO and queue independence ------------------------------------------------------------


async def test_fifo_per_city_and_department_and_queues_are_independent(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    a = await queue.request("Москва", "subscriber", phone(1), now=now)
    tech = await queue.request("Москва", "tech", phone(2), now=now + timedelta(seconds=1))
    tomsk = await queue.request("Томск", "subscriber", phone(3), now=now + timedelta(seconds=2))
    b = await queue.request("Москва", "subscriber", phone(4), now=now + timedelta(seconds=3))

    assert (tech.position, tomsk.position, b.position) == (1, 1, 2)
    later = now + timedelta(minutes=1)
    assert (await queue.claim_next("Москва", "subscriber", "olga", now=later)).id == a.id
    assert (await queue.claim_next("Москва", "subscriber", "olga", now=later)).id == b.id
    assert await queue.claim_next("Москва", "subscriber", "olga", now=later) is None
    assert (await queue.claim_next("Томск", "subscriber", "olga", now=later)).id == tomsk.id
    assert (await queue.claim_next("Москва", "tech", "ivan", now=later)).id == tech.id


async def test_scheduled_requests_keep_their_arrival_order(db_sessions):
    queue = make_queue(db_sessions)
    night = msk(2025, 6, 2, 22, 0)
    ids = [
        (await queue.request("Москва", "subscriber", phone(i), now=night + timedelta(minutes=i))).id for i in range(3)
    ]
    opening = msk(2025, 6, 3, 9, 0)
    claimed = [(await queue.claim_next("Москва", "subscriber", "olga", now=opening)).id for _ in range(3)]
    assert claimed == ids


async def test_city_names_are_matched_case_insensitively_and_unknown_ones_refused(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    ticket = await queue.request("  москва ", "subscriber", phone(1), now=now)
    assert ticket.city == "Москва"
    with pytest.raises(UnknownCity):
        await queue.request("Атлантида", "subscriber", phone(2), now=now)
    with pytest.raises(UnknownDepartment):
        await queue.request("Москва", "sales", phone(2), now=now)
    with pytest.raises(ValueError):
        await queue.request("Москва", "subscriber", phone(2), now=datetime(2025, 6, 2, 10, 0))  # naive
    with pytest.raises(ValueError):  # an account number is never silently cut
        await queue.request("Москва", "subscriber", phone(2), account_number="1" * 21, now=now)
    assert await count_rows(db_sessions) == 1


# -- one open request per phone and department ------------------------------------------------


async def test_second_request_returns_the_open_one(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    first = await queue.request("Москва", "subscriber", phone(1), topic="Нет интернета", now=now)
    again = await queue.request("Москва", "subscriber", phone(1), now=now + timedelta(minutes=2))
    other_department = await queue.request("Москва", "tech", phone(1), now=now)

    assert again.already_queued and again.id == first.id and again.position == 1
    assert not other_department.already_queued and other_department.id != first.id
    assert await count_rows(db_sessions) == 2


async def test_concurrent_duplicates_store_one_request(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    tickets = await asyncio.gather(
        *(queue.request("Москва", "subscriber", phone(1), conversation_key=f"c{i}", now=now) for i in range(10))
    )
    assert len({t.id for t in tickets}) == 1
    assert sum(not t.already_queued for t in tickets) == 1
    assert await count_rows(db_sessions) == 1


async def test_new_request_allowed_after_cancel_and_after_done(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    first = await queue.request("Москва", "subscriber", phone(1), now=now)
    assert await queue.cancel(phone=phone(1), department="subscriber", now=now)
    assert not await queue.cancel(phone=phone(1), department="subscriber", now=now)  # nothing open any more

    second = await queue.request("Москва", "subscriber", phone(1), now=now)
    assert not second.already_queued and second.id != first.id

    claimed = await queue.claim_next("Москва", "subscriber", "olga", now=now)
    assert await queue.record_outcome(claimed.id, "olga", "done", "Помогли", now=now) == "done"
    third = await queue.request("Москва", "subscriber", phone(1), now=now)
    assert not third.already_queued and third.id not in (first.id, second.id)


async def test_cancel_by_id_and_by_conversation(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    one = await queue.request("Москва", "subscriber", phone(1), conversation_key="wa:1", now=now)
    await queue.request("Москва", "tech", phone(1), conversation_key="wa:1", now=now)
    other = await queue.request("Москва", "subscriber", phone(2), conversation_key="wa:2", now=now)

    assert [t.department for t in await queue.open_for_conversation("wa:1", now=now)] == ["subscriber", "tech"]
    assert await queue.cancel(conversation_key="wa:1", now=now)
    assert await queue.open_for_conversation("wa:1", now=now) == []
    assert not await queue.cancel(one.id, now=now)
    assert await queue.cancel(other.id, now=now)
    assert await queue.open_for_phone(phone(2), now=now) == []
    with pytest.raises(ValueError):
        await queue.cancel(phone=phone(1), now=now)  # which department?


# -- agents ---------------------------------------------------------------------------------


async def test_ten_agents_racing_for_one_request(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    ticket = await queue.request("Москва", "subscriber", phone(1), now=now)
    results = await asyncio.gather(
        *(queue.claim_next("Москва", "subscriber", f"agent{i}", now=now) for i in range(10))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].id == ticket.id
    assert await count_rows(db_sessions, status="claimed", claimed_by=winners[0].claimed_by) == 1


async def test_ten_agents_racing_for_five_requests_each_get_a_different_one(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    for i in range(5):
        await queue.request("Москва", "subscriber", phone(i), now=now)
    results = await asyncio.gather(
        *(queue.claim_next("Москва", "subscriber", f"agent{i}", now=now) for i in range(10))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 5 and len({w.id for w in winners}) == 5


async def test_claimed_request_shows_position_zero_to_the_subscriber(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    await queue.request("Москва", "subscriber", phone(1), account_number="100200", topic="Счёт", now=now)
    claimed = await queue.claim_next("Москва", "subscriber", "olga", now=now)
    assert (claimed.phone, claimed.account_number, claimed.topic, claimed.attempts) == (phone(1), "100200", "Счёт", 0)
    [ticket] = await queue.open_for_phone(phone(1), now=now)
    assert ticket.status == "claimed" and ticket.position == 0
    again = await queue.request("Москва", "subscriber", phone(1), now=now)
    assert again.already_queued and again.id == claimed.id


async def test_no_answer_is_retried_later_then_given_up(db_sessions):
    queue = make_queue(db_sessions, max_attempts=3, retry_minutes=30)
    now = msk(2025, 6, 2, 10, 0)
    ticket = await queue.request("Москва", "subscriber", phone(1), now=now)

    for attempt in (1, 2):
        claimed = await queue.claim_next("Москва", "subscriber", "olga", now=now)
        assert claimed.id == ticket.id and claimed.attempts == attempt - 1
        assert await queue.record_outcome(claimed.id, "olga", "no_answer", now=now) == "queued"
        [retry] = await queue.open_for_phone(phone(1), now=now)
        assert retry.scheduled and retry.scheduled_for == now + timedelta(minutes=30)
        assert await queue.claim_next("Москва", "subscriber", "olga", now=now + timedelta(minutes=29)) is None
        now += timedelta(minutes=30)

    claimed = await queue.claim_next("Москва", "subscriber", "olga", now=now)
    assert await queue.record_outcome(claimed.id, "olga", "no_answer", "Не берут трубку", now=now) == "no_answer"
    assert await queue.open_for_phone(phone(1), now=now) == []
    assert await count_rows(db_sessions, status="no_answer", attempts=3) == 1


async def test_retry_after_closing_time_waits_for_the_next_opening(db_sessions):
    queue = make_queue(db_sessions, retry_minutes=30)
    now = msk(2025, 6, 2, 20, 45)
    await queue.request("Москва", "subscriber", phone(1), now=now)
    claimed = await queue.claim_next("Москва", "subscriber", "olga", now=now)
    await queue.record_outcome(claimed.id, "olga", "no_answer", now=now)
    [retry] = await queue.open_for_phone(phone(1), now=now)
    assert retry.scheduled_for == msk(2025, 6, 3, 9, 0)


async def test_only_the_claiming_agent_records_the_outcome(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    await queue.request("Москва", "subscriber", phone(1), now=now)
    claimed = await queue.claim_next("Москва", "subscriber", "olga", now=now)

    with pytest.raises(NotHeldByAgent):
        await queue.record_outcome(claimed.id, "ivan", "done", now=now)
    with pytest.raises(ValueError):
        await queue.record_outcome(claimed.id, "olga", "maybe", now=now)
    with pytest.raises(NotFound):
        await queue.record_outcome(claimed.id + 1000, "olga", "done", now=now)
    assert await queue.record_outcome(claimed.id, "olga", "cancelled", "Уже не нужно", now=now) == "cancelled"
    with pytest.raises(NotHeldByAgent):  # closed: nothing more to record
        await queue.record_outcome(claimed.id, "olga", "done", now=now)


async def test_subscriber_cancel_wins_over_the_calling_agent(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    await queue.request("Москва", "subscriber", phone(1), now=now)
    claimed = await queue.claim_next("Москва", "subscriber", "olga", now=now)
    assert await queue.cancel(claimed.id, now=now)
    with pytest.raises(NotHeldByAgent) as error:
        await queue.record_outcome(claimed.id, "olga", "done", now=now)
    assert error.value.status == "cancelled"


async def test_release_gives_the_request_back_with_its_place(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    first = await queue.request("Москва", "subscriber", phone(1), now=now)
    await queue.request("Москва", "subscriber", phone(2), now=now + timedelta(seconds=1))
    claimed = await queue.claim_next("Москва", "subscriber", "olga", now=now)
    assert not await queue.release(claimed.id, "ivan")
    assert await queue.release(claimed.id, "olga")
    assert (await queue.claim_next("Москва", "subscriber", "ivan", now=now)).id == first.id


async def test_queue_stats(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    empty = await queue.queue_stats("Москва", "subscriber", now=now)
    assert (empty.queued, empty.due, empty.in_progress, empty.oldest_wait) == (0, 0, 0, None)

    await queue.request("Москва", "subscriber", phone(1), now=now)
    await queue.request("Москва", "subscriber", phone(2), now=now + timedelta(minutes=5))
    await queue.request("Москва", "subscriber", phone(3), now=now + timedelta(minutes=6))
    await queue.request("Томск", "subscriber", phone(4), now=now)
    await queue.claim_next("Москва", "subscriber", "olga", now=now + timedelta(minutes=6))

    stats = await queue.queue_stats("Москва", "subscriber", now=now + timedelta(minutes=20))
    assert (stats.queued, stats.due, stats.in_progress) == (2, 2, 1)
    assert stats.oldest_wait == timedelta(minutes=15)


# -- the subscriber's preferred time ------------------------------------------------------------


async def test_preferred_time_schedules_the_request_then(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)  # Monday morning
    ticket = await queue.request(
        "Москва", "subscriber", phone(1), preferred_time="завтра после обеда", not_before=msk(2025, 6, 3, 13, 0), now=now
    )
    assert ticket.scheduled and ticket.scheduled_for == msk(2025, 6, 3, 13, 0) == ticket.expected_at
    assert await queue.claim_next("Москва", "subscriber", "agent", now=msk(2025, 6, 3, 12, 59)) is None
    claimed = await queue.claim_next("Москва", "subscriber", "agent", now=msk(2025, 6, 3, 13, 0))
    assert claimed is not None and claimed.preferred_time == "завтра после обеда"


async def test_preferred_time_outside_hours_moves_to_the_next_opening(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    # Saturday 19:00: the subscriber department closes at 18:00 on weekends → Sunday 09:00.
    ticket = await queue.request("Москва", "subscriber", phone(2), not_before=msk(2025, 6, 7, 19, 0), now=now)
    assert ticket.scheduled_for == msk(2025, 6, 8, 9, 0)


async def test_preferred_time_in_the_past_is_now(db_sessions):
    queue = make_queue(db_sessions)
    now = msk(2025, 6, 2, 10, 0)
    ticket = await queue.request("Москва", "subscriber", phone(3), not_before=now - timedelta(hours=2), now=now)
    assert not ticket.scheduled and ticket.scheduled_for == now


async def test_preferred_time_must_be_aware(db_sessions):
    queue = make_queue(db_sessions)
    with pytest.raises(ValueError):
        await queue.request("Москва", "subscriber", phone(4), not_before=datetime(2025, 6, 3, 13, 0), now=msk(2025, 6, 2, 10, 0))
