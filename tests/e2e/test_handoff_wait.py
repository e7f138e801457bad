"""The wait told to a subscriber queued for an operator is computed: place ÷ agents
online × the measured average handle time of that queue, within the department's hours."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


async def measured_handle_time(stack, minutes: int, *, city="Москва", department="subscriber", samples=3):
    """Conversations agents held for ``minutes`` each, closed an hour ago."""
    handoffs = stack.container.handoffs
    closed_at = stack.clock.now - timedelta(hours=1)
    for n in range(samples):
        ticket = await handoffs.enqueue(
            f"webchat:past-{n}", "webchat", city=city, department=department, reason="asked",
            now=closed_at - timedelta(hours=2),
        )
        assert await handoffs.claim(ticket.id, "demo", now=closed_at - timedelta(minutes=minutes))
        assert await handoffs.close(ticket.id, "demo", now=closed_at)


async def agents_online(stack, *logins: str):
    agents = stack.container.console.service.agents
    for login in logins:
        if await agents.get(login) is None:
            await agents.add(login, "pw-" + login, cities="Москва", departments="subscriber")
        await agents.set_presence((await agents.get(login)).id, "online", now=stack.clock.now)


async def queue_for_moscow(chat):
    await chat.send("позовите оператора")
    await chat.click("Москва")
    assert "Передаю разговор оператору" in chat.text


async def test_wait_is_place_over_agents_online_times_measured_handle_time(stack, chat):
    await measured_handle_time(stack, 20)
    await agents_online(stack, "demo", "anna", "boris")  # demo: a supervisor, not counted
    for _ in range(2):
        await queue_for_moscow(await stack.new_chat())
    await queue_for_moscow(chat)
    # 2 ahead × 20 min ÷ 2 agents = 20 min; 12:00 in Moscow now.
    assert "Вы 3-й в очереди" in chat.text
    assert "Оператор ответит примерно через 20 мин. — сегодня в 12:20 (по местному времени)." in chat.text

    await chat.send("ну что там?")
    assert "Вы 3-й в очереди к оператору (Абонентский отдел, Москва)" in chat.text
    assert "примерно через 20 мин. — сегодня в 12:20" in chat.text
    assert "точное время назвать не могу" not in chat.text


async def test_first_in_queue_is_told_the_next_free_operator_answers(stack, chat):
    await queue_for_moscow(chat)
    assert "Вы следующий: оператор ответит, как только освободится." in chat.text


async def test_wait_that_runs_past_closing_continues_at_the_next_opening(stack, chat):
    stack.clock.now = datetime(2026, 11, 18, 17, 45, tzinfo=timezone.utc)  # 20:45 Moscow, closes at 21:00
    await measured_handle_time(stack, 30)
    await agents_online(stack, "anna")
    await queue_for_moscow(await stack.new_chat())
    await queue_for_moscow(chat)
    # 30 min of work: 15 before closing, 15 after Thursday's 09:00 opening.
    assert "Вы 2-й в очереди" in chat.text
    assert "Оператор ответит примерно завтра в 09:15 (по местному времени)." in chat.text


async def test_outside_hours_the_wait_starts_when_the_department_opens(stack, chat):
    stack.clock.now = datetime(2026, 11, 18, 19, 0, tzinfo=timezone.utc)  # 22:00 Moscow
    await queue_for_moscow(chat)
    assert "сейчас не работает" in chat.text and "завтра в 09:00" in chat.text
    assert "Оператор ответит примерно завтра в 09:00 (по местному времени)." in chat.text

    await chat.send("скоро?")
    assert "Оператор ответит примерно завтра в 09:00" in chat.text
    assert "сейчас не работает" in chat.text


async def test_unknown_city_gets_no_invented_time(stack, chat):
    await chat.send("ыврпаолдж фывапр")
    await chat.send("купите мне слона")
    assert "Позову оператора" in chat.text
    assert "Оператор ответит примерно" not in chat.text
    await chat.send("ну что там?")
    assert "точное время назвать не могу" in chat.text
