"""/me lists where the agent may filter and transfer; the conversation view carries the
channel's advice before writing."""

from __future__ import annotations

import asyncio

from reference.directory import default_directory

EVERY_CITY = sorted((c.name for c in default_directory().cities), key=str.casefold)


async def test_me_lists_the_agents_own_cities_and_departments_and_every_transfer_target(console):
    anna = await console.agent("anna", cities="Уфа,Москва", departments="tech")
    scope = (await anna.get("/me")).json()["scope"]
    assert scope["cities"] == ["Москва", "Уфа"]
    assert [d["id"] for d in scope["departments"]] == ["tech"]
    assert scope["transfer_cities"] == EVERY_CITY and len(EVERY_CITY) == 16
    assert {d["id"]: d["title"] for d in scope["transfer_departments"]} == {
        "subscriber": "Абонентский отдел", "tech": "Техподдержка",
    }


async def test_me_for_all_cities_lists_every_city(console):
    boris = await console.agent("boris", cities="all", departments="all")
    scope = (await boris.get("/me")).json()["scope"]
    assert scope["cities"] == EVERY_CITY
    assert [d["id"] for d in scope["departments"]] == ["subscriber", "tech"]


async def test_a_web_chat_conversation_needs_no_advice(console):
    anna = await console.agent("anna", cities="Москва", departments="subscriber")
    _, handoff_id = await console.queued_chat("Москва")
    body = (await anna.get(f"/conversations/{handoff_id}")).json()
    assert "delivery_advice" in body and body["delivery_advice"] is None


async def test_a_conversation_whose_channel_is_gone_is_advised_so(console):
    anna = await console.agent("anna", cities="Москва", departments="subscriber")
    ticket = await console.container.handoffs.enqueue(
        "icq:123", "icq", city="Москва", department="subscriber", reason="asked"
    )
    body = (await anna.get(f"/conversations/{ticket.id}")).json()
    assert body["delivery_advice"] == "Канал icq не подключён: сообщение не отправлено."


async def test_viewing_a_callback_shows_who_is_looking_and_hides_other_cities(console):
    request = await console.container.callbacks.request("Москва", "tech", "+79160000001", topic="нет интернета")
    anna = await console.agent("anna", cities="Москва", departments="all")
    boris = await console.agent("boris", cities="Москва", departments="all")
    far = await console.agent("far", cities="Томск", departments="all")
    assert (await anna.post(f"/callbacks/{request.id}/viewing")).status_code == 204
    for _ in range(100):
        items = await boris.queue()
        if items[0]["viewers"]:
            break
        await asyncio.sleep(0.02)
    assert items[0]["kind"] == "callback" and items[0]["viewers"] == ["anna"]
    assert (await far.post(f"/callbacks/{request.id}/viewing")).status_code == 404
    assert (await anna.post("/callbacks/999999/viewing")).status_code == 404
