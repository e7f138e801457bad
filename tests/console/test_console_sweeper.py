"""The sweeper: quiet or offline holds go back to the queue (subscriber told);
optional round-robin auto-assignment up to a per-agent capacity."""

from __future__ import annotations

import asyncio
import dataclasses


async def _sweep(console) -> None:
    assert await console.app.state.console.sweep_once()


async def test_a_hold_without_agent_activity_returns_to_the_queue(console):
    chat, handoff_id = await console.queued_chat()
    anna = await console.agent("anna")
    chief = await console.agent("chief", supervisor=True)
    await anna.post(f"/conversations/{handoff_id}/takeover")
    console.clock.advance(minutes=8)
    await anna.post("/presence", {"status": "online"})
    await anna.post(f"/conversations/{handoff_id}/messages", {"text": "Минутку, проверяю."})
    console.clock.advance(minutes=8)  # 8 minutes since the last message: still within 10
    await anna.post("/presence", {"status": "online"})
    await _sweep(console)
    assert (await anna.get(f"/conversations/{handoff_id}")).json()["status"] == "assigned"
    console.clock.advance(minutes=3)
    await anna.post("/presence", {"status": "online"})
    await _sweep(console)
    body = (await anna.get(f"/conversations/{handoff_id}")).json()
    assert body["status"] == "waiting" and body["assigned_to"] is None
    told = [t for t in await console.mailbox(chat) if "вы снова в очереди, ваше место — 1-е" in t]
    # When, as the bot says it when it first queues a conversation (first in the queue: next).
    assert told == ["Оператор сейчас не может ответить, поэтому вы снова в очереди, ваше место — 1-е. "
                    "Вы следующий: оператор ответит, как только освободится. Ответ придёт сюда, в этот чат."]
    assert any(line["direction"] == "system" and "не отвечал" in line["text"] for line in body["transcript"])
    entries = (await chief.get("/audit")).json()["entries"]
    assert entries[0]["action"] == "requeued" and entries[0]["agent"] == "anna"
    # The agent can no longer write into it.
    assert (await anna.post(f"/conversations/{handoff_id}/messages", {"text": "алло"})).status_code == 409


async def test_a_hold_of_an_agent_gone_offline_returns_to_the_queue(console):
    chat, handoff_id = await console.queued_chat()
    anna = await console.agent("anna")
    await anna.post(f"/conversations/{handoff_id}/takeover")
    await anna.post("/presence", {"status": "offline"})
    await _sweep(console)
    assert (await anna.get(f"/conversations/{handoff_id}")).json()["status"] == "waiting"
    assert any("снова в очереди" in t for t in await console.mailbox(chat))


async def test_a_silent_console_counts_as_offline(console):
    chat, handoff_id = await console.queued_chat()
    anna = await console.agent("anna")
    await anna.post(f"/conversations/{handoff_id}/takeover")
    console.clock.advance(seconds=100)  # no request, no WebSocket ping for 100 s > 90 s
    await _sweep(console)
    assert (await console.container.handoffs.get(handoff_id)).status == "waiting"


async def test_round_robin_auto_assignment_up_to_capacity(console):
    service = console.service
    service.policy = dataclasses.replace(service.policy, auto_assign=True, agent_capacity=1)
    anna = await console.agent("anna", cities="Москва", departments="subscriber")
    boris = await console.agent("boris", cities="Москва", departments="subscriber")
    await console.agent("ufa", cities="Уфа", departments="all")
    chats = []
    for _ in range(3):
        chats.append(await console.queued_chat("Москва"))
        console.clock.advance(seconds=1)
    await _sweep(console)
    records = [await console.container.handoffs.get(handoff_id) for _, handoff_id in chats]
    assert [r.assigned_to for r in records] == ["anna", "boris", None]
    assert any("подключился оператор" in t for t in await console.mailbox(chats[0][0]))
    # Anna finishes: the next one goes to her (she is under capacity again).
    await anna.post(f"/conversations/{chats[0][1]}/release")
    await _sweep(console)
    assert (await console.container.handoffs.get(chats[2][1])).assigned_to == "anna"
    assert boris.login == "boris"


async def test_two_sweeps_at_once_assign_each_conversation_once(console):
    service = console.service
    service.policy = dataclasses.replace(service.policy, auto_assign=True, agent_capacity=5)
    await console.agent("anna")
    chat, handoff_id = await console.queued_chat()
    await asyncio.gather(service.sweep(), service.sweep())
    joined = [t for t in await console.mailbox(chat) if "подключился оператор" in t]
    assert len(joined) == 1
