"""Callbacks in the console: claim the next (exactly once), outcomes, the full retry
cycle within working hours, the subscriber told after the last attempt; wait estimates."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from tests.e2e.test_callback_and_handoff import order_tech_callback


async def test_next_callback_claims_the_oldest_due_and_204_when_none(console):
    callbacks = console.container.callbacks
    first = await callbacks.request("Уфа", "tech", "+79000000001", topic="нет сети", preferred_time="после обеда")
    console.clock.advance(seconds=5)
    await callbacks.request("Уфа", "tech", "+79000000002")
    anna = await console.agent("anna", cities="Уфа", departments="tech")
    response = await anna.post("/callbacks/next")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == first.id and body["phone"] == "+79000000001" and body["city"] == "Уфа"
    assert body["department"] == "tech" and body["topic"] == "нет сети" and body["attempts"] == 0
    assert body["preferred_time"] == "после обеда" and body["account_number"] is None and body["due_at"]
    queue = await anna.queue()
    assert [(i["id"], i["status"], i["assigned_to"]) for i in queue][0] == (first.id, "claimed", "anna")
    assert (await anna.post("/callbacks/next")).status_code == 200
    assert (await anna.post("/callbacks/next")).status_code == 204


async def test_agents_see_and_claim_only_their_queues(console):
    await console.container.callbacks.request("Москва", "tech", "+79000000003")
    ufa = await console.agent("ufa", cities="Уфа", departments="all")
    assert (await ufa.post("/callbacks/next")).status_code == 204
    assert await ufa.queue() == []
    moscow = await console.agent("moscow", cities="Москва", departments="tech")
    claimed = (await moscow.post("/callbacks/next")).json()
    hidden = await ufa.post(f"/callbacks/{claimed['id']}/result", {"outcome": "done"})
    assert hidden.status_code == 404


async def test_two_agents_claim_at_once_each_gets_a_different_one(console):
    callbacks = console.container.callbacks
    await callbacks.request("Уфа", "tech", "+79000000011")
    anna, boris = await console.agent("anna"), await console.agent("boris")
    first, second = await asyncio.gather(anna.post("/callbacks/next"), boris.post("/callbacks/next"))
    assert sorted([first.status_code, second.status_code]) == [200, 204]


async def test_many_claims_at_once_never_give_one_request_twice(console):
    callbacks = console.container.callbacks
    for n in range(5):
        await callbacks.request("Уфа", "tech", f"+7900000002{n}")
    agents = [await console.agent(f"agent{n}") for n in range(8)]
    answers = await asyncio.gather(*(a.post("/callbacks/next") for a in agents))
    ids = [a.json()["id"] for a in answers if a.status_code == 200]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert sum(a.status_code == 204 for a in answers) == 3


async def test_full_retry_cycle_then_the_subscriber_is_told_in_their_channel(console):
    """3 attempts (CALLBACK_MAX_ATTEMPTS), 30 minutes apart within working hours."""
    chat = await console.new_chat()
    await order_tech_callback(chat, phone="+7 900 555-44-33", city="Уфа")
    anna = await console.agent("anna", cities="Уфа", departments="tech")
    chief = await console.agent("chief", supervisor=True)
    for attempt in (1, 2):
        claimed = (await anna.post("/callbacks/next")).json()
        assert claimed["attempts"] == attempt - 1
        result = await anna.post(f"/callbacks/{claimed['id']}/result", {"outcome": "no_answer", "note": "не берёт"})
        assert result.status_code == 200
        body = result.json()
        assert body["status"] == "queued"
        next_at = datetime.fromisoformat(body["next_attempt_at"])
        assert next_at == console.clock.now + timedelta(minutes=30)
        assert (await anna.post("/callbacks/next")).status_code == 204  # not due yet
        console.clock.advance(minutes=31)
    claimed = (await anna.post("/callbacks/next")).json()
    assert claimed["attempts"] == 2
    final = (await anna.post(f"/callbacks/{claimed['id']}/result", {"outcome": "no_answer"})).json()
    assert final == {"status": "no_answer", "next_attempt_at": None}
    told = [t for t in await console.mailbox(chat) if "не смогли дозвониться" in t]
    assert len(told) == 1 and "+79005554433" in told[0] and f"№{claimed['id']}" in told[0]
    assert await anna.queue() == []
    assert (await anna.post(f"/callbacks/{claimed['id']}/result", {"outcome": "done"})).status_code == 409
    audit = [(e["action"], e["detail"]) for e in (await chief.get("/audit")).json()["entries"]]
    assert audit.count(("callback_no_answer", "не берёт")) == 2
    assert [a for a, _ in audit].count("callback_claim") == 3
    stats = (await chief.get("/stats")).json()
    ufa = next(q for q in stats["queues"] if q["city"] == "Уфа" and q["department"] == "tech")
    assert ufa["callbacks_failed_today"] == 1 and ufa["callbacks_done_today"] == 0


async def test_retry_falls_into_the_next_opening_when_the_department_closes(console):
    # Moscow subscriber department works 09:00–21:00 (service line hours); 20:50 local now.
    console.clock.now = datetime(2026, 11, 18, 17, 50, tzinfo=timezone.utc)
    await console.container.callbacks.request("Москва", "subscriber", "+79000000031")
    anna = await console.agent("anna")
    claimed = (await anna.post("/callbacks/next")).json()
    body = (await anna.post(f"/callbacks/{claimed['id']}/result", {"outcome": "no_answer"})).json()
    next_at = datetime.fromisoformat(body["next_attempt_at"])
    hours = console.container.directory.department("subscriber").hours
    tz = console.container.directory.city("Москва").tz
    assert next_at > console.clock.now + timedelta(minutes=30)
    assert hours.is_open(next_at.astimezone(tz))


async def test_done_and_cancelled_close_the_request(console):
    callbacks = console.container.callbacks
    await callbacks.request("Уфа", "tech", "+79000000041")
    await callbacks.request("Уфа", "tech", "+79000000042")
    anna = await console.agent("anna")
    one = (await anna.post("/callbacks/next")).json()
    two = (await anna.post("/callbacks/next")).json()
    assert (await anna.post(f"/callbacks/{one['id']}/result", {"outcome": "done", "note": "помог"})).json() == {
        "status": "done", "next_attempt_at": None}
    assert (await anna.post(f"/callbacks/{two['id']}/result", {"outcome": "cancelled"})).json()["status"] == "cancelled"
    assert (await anna.post(f"/callbacks/{two['id']}/result", {"outcome": "maybe"})).status_code == 422
    assert (await anna.post("/callbacks/999999/result", {"outcome": "done"})).status_code == 404


async def test_wait_estimate_uses_online_agents_and_measured_handle_time(console):
    """position ÷ online agents × average handle time (claimed → closed)."""
    callbacks = console.container.callbacks
    anna = await console.agent("anna", cities="Уфа", departments="tech")
    # Three measured calls of 10 minutes each.
    for n in range(3):
        await callbacks.request("Уфа", "tech", f"+7900000005{n}")
        claimed = (await anna.post("/callbacks/next")).json()
        console.clock.advance(minutes=10)
        await anna.post(f"/callbacks/{claimed['id']}/result", {"outcome": "done"})
    console.clock.advance(minutes=1)  # the estimator caches for 30 s
    for n in range(3):
        await callbacks.request("Уфа", "tech", f"+7900000006{n}")
    chat = await console.new_chat()
    await order_tech_callback(chat, phone="+7 900 111-22-33", city="Уфа")
    assert "Вы 4-й в очереди" in chat.text
    ticket = (await callbacks.open_for_phone("+79001112233"))[0]
    # One agent online: 3 ahead × 10 minutes.
    assert ticket.expected_at == console.clock.now + timedelta(minutes=30)
    await console.agent("boris", cities="Уфа", departments="tech")
    ticket = (await callbacks.open_for_phone("+79001112233"))[0]
    assert ticket.expected_at == console.clock.now + timedelta(minutes=15)
