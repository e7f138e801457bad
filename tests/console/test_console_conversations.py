"""Queue board, conversations: takeover (exactly once), messages through the subscriber's
channel, notes, release, transfer, visibility, viewers, the audit log."""

from __future__ import annotations

import asyncio


async def test_queue_lists_a_waiting_conversation_with_its_preview(console):
    chat, handoff_id = await console.queued_chat("Москва")
    await chat.send("у меня не работает интернет уже два дня")
    anna = await console.agent("anna", cities="Москва", departments="subscriber")
    console.clock.advance(seconds=42)
    items = await anna.queue()
    assert len(items) == 1
    item = items[0]
    assert item["kind"] == "conversation" and item["id"] == handoff_id
    assert item["city"] == "Москва" and item["department"] == "subscriber" and item["channel"] == "webchat"
    assert item["status"] == "waiting" and item["assigned_to"] is None and item["waiting_seconds"] == 42
    assert item["overdue"] is False and item["viewers"] == [] and item["phone"] is None
    assert item["preview"] == "у меня не работает интернет уже два дня"
    console.clock.advance(minutes=16)
    assert (await anna.queue())[0]["overdue"] is True


async def test_queue_orders_callbacks_and_conversations_oldest_first(console):
    callbacks = console.container.callbacks
    first = await callbacks.request("Москва", "tech", "+79160000001", topic="нет интернета")
    console.clock.advance(seconds=10)
    chat, handoff_id = await console.queued_chat("Москва")
    console.clock.advance(seconds=10)
    anna = await console.agent("anna")
    items = await anna.queue()
    assert [(i["kind"], i["id"]) for i in items] == [("callback", first.id), ("conversation", handoff_id)]
    callback = items[0]
    assert callback["phone"] == "+79160000001" and callback["topic"] == "нет интернета"
    assert callback["attempts"] == 0 and callback["due_at"] and callback["channel"] is None
    assert callback["waiting_seconds"] == 20


async def test_visibility_across_cities_is_404_not_403(console):
    chat, moscow_id = await console.queued_chat("Москва")
    ufa = await console.agent("ufa", cities="Уфа", departments="all")
    tech = await console.agent("tech", cities="all", departments="tech")
    moscow = await console.agent("moscow", cities="Москва", departments="subscriber")
    for outsider in (ufa, tech):
        assert await outsider.queue() == []
        for call in (
            outsider.get(f"/conversations/{moscow_id}"),
            outsider.post(f"/conversations/{moscow_id}/takeover"),
            outsider.post(f"/conversations/{moscow_id}/notes", {"text": "x"}),
            outsider.post(f"/conversations/{moscow_id}/viewing"),
            outsider.post(f"/conversations/{moscow_id}/transfer", {"city": "Уфа", "department": "tech"}),
        ):
            response = await call
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "not_found"
    missing = await moscow.get("/conversations/999999")
    assert missing.status_code == 404 and missing.json() == (await ufa.get(f"/conversations/{moscow_id}")).json()
    assert [i["id"] for i in await moscow.queue()] == [moscow_id]


async def test_conversation_shows_transcript_and_subscriber_card_without_password(console):
    chat = await console.new_chat()
    await chat.login("1000002", "demo2")
    await chat.send("позовите оператора")
    record = await console.container.handoffs.current(f"webchat:{chat.session_id}")
    anna = await console.agent("anna")
    body = (await anna.get(f"/conversations/{record.id}")).json()
    assert body["id"] == record.id and body["conversation_key"] == f"webchat:{chat.session_id}"
    assert body["status"] == "waiting" and body["assigned_to"] is None and body["notes"] == []
    card = body["subscriber"]
    assert card["account"] == "1000002" and set(card) == {
        "account", "balance", "tariff", "monthly_fee", "status", "next_charge_date", "city", "phone"}
    texts = [line["text"] for line in body["transcript"]]
    assert "позовите оператора" in texts
    assert "demo2" not in " ".join(texts)  # the password was redacted by the engine
    assert {line["direction"] for line in body["transcript"]} <= {"in", "bot", "agent", "system"}


async def test_two_agents_take_over_at_once_exactly_one_wins(console):
    chat, handoff_id = await console.queued_chat()
    anna, boris = await console.agent("anna"), await console.agent("boris")
    first, second = await asyncio.gather(
        anna.post(f"/conversations/{handoff_id}/takeover"), boris.post(f"/conversations/{handoff_id}/takeover")
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    assert loser.json()["error"]["code"] == "taken"
    assert winner.json()["status"] == "assigned" and winner.json()["assigned_to"] in ("anna", "boris")
    # The subscriber is told in their channel that an operator joined.
    assert any("подключился оператор" in text for text in await console.mailbox(chat))


async def test_held_conversation_messages_reach_the_web_chat_and_the_bot_stays_silent(console):
    chat, handoff_id = await console.queued_chat()
    anna = await console.agent("anna")
    assert (await anna.post(f"/conversations/{handoff_id}/takeover")).status_code == 200
    replies = await chat.send("здравствуйте, у меня вопрос по счёту")
    assert replies == []  # the bot is silent while an agent holds the conversation
    sent = await anna.post(f"/conversations/{handoff_id}/messages", {"text": "Здравствуйте! Слушаю вас."})
    assert sent.status_code == 200
    assert sent.json() == {"delivery": {"status": "sent", "reason": None}}
    assert "Здравствуйте! Слушаю вас." in await console.mailbox(chat)
    body = (await anna.get(f"/conversations/{handoff_id}")).json()
    lines = [(line["direction"], line["text"], line["author"]) for line in body["transcript"]]
    assert ("in", "здравствуйте, у меня вопрос по счёту", None) in lines
    assert ("agent", "Здравствуйте! Слушаю вас.", "anna") in lines


async def test_only_the_holder_may_message_or_release(console):
    chat, handoff_id = await console.queued_chat()
    anna, boris = await console.agent("anna"), await console.agent("boris")
    not_yet = await anna.post(f"/conversations/{handoff_id}/messages", {"text": "привет"})
    assert not_yet.status_code == 409 and not_yet.json()["error"]["code"] == "not_holder"
    await anna.post(f"/conversations/{handoff_id}/takeover")
    assert (await boris.post(f"/conversations/{handoff_id}/messages", {"text": "привет"})).status_code == 409
    assert (await boris.post(f"/conversations/{handoff_id}/release")).status_code == 409
    assert (await anna.post(f"/conversations/{handoff_id}/messages", {"text": " "})).status_code == 422
    assert (await anna.post(f"/conversations/{handoff_id}/messages", {})).status_code == 422


async def test_notes_are_private(console):
    chat, handoff_id = await console.queued_chat()
    anna = await console.agent("anna")
    await anna.post(f"/conversations/{handoff_id}/takeover")
    before = await console.mailbox(chat)
    response = await anna.post(f"/conversations/{handoff_id}/notes", {"text": "абонент раздражён, был сбой в доме"})
    assert response.status_code == 201
    assert response.json()["author"] == "anna" and response.json()["text"] == "абонент раздражён, был сбой в доме"
    assert await console.mailbox(chat) == before  # nothing went to the subscriber
    body = (await anna.get(f"/conversations/{handoff_id}")).json()
    assert [n["text"] for n in body["notes"]] == ["абонент раздражён, был сбой в доме"]
    assert all("раздражён" not in line["text"] for line in body["transcript"])


async def test_release_returns_the_conversation_to_the_bot_and_tells_the_subscriber(console):
    chat, handoff_id = await console.queued_chat()
    anna = await console.agent("anna")
    await anna.post(f"/conversations/{handoff_id}/takeover")
    response = await anna.post(f"/conversations/{handoff_id}/release")
    assert response.status_code == 200 and response.json()["status"] == "released"
    assert any("Оператор завершил разговор" in text for text in await console.mailbox(chat))
    assert (await anna.get(f"/conversations/{handoff_id}")).json()["status"] == "released"
    assert await anna.queue() == []
    replies = await chat.send("какой у вас телефон?")
    assert replies  # the bot answers again


async def test_transfer_moves_it_to_another_city_and_department(console):
    chat, handoff_id = await console.queued_chat("Москва")
    anna = await console.agent("anna", cities="Москва", departments="subscriber")
    ufa_tech = await console.agent("ufatech", cities="Уфа", departments="tech")
    await anna.post(f"/conversations/{handoff_id}/takeover")
    moved = await anna.post(f"/conversations/{handoff_id}/transfer", {"city": "Уфа", "department": "tech"})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"id": handoff_id, "status": "waiting", "city": "Уфа", "department": "tech"}
    assert await anna.queue() == []
    assert [i["id"] for i in await ufa_tech.queue()] == [handoff_id]
    told = [t for t in await console.mailbox(chat) if "Ваш вопрос передан: Техподдержка, Уфа" in t]
    assert told == ["Ваш вопрос передан: Техподдержка, Уфа. Вы в очереди, ваше место — 1-е. "
                    "Вы следующий: оператор ответит, как только освободится. Ответ придёт сюда, в этот чат."]
    bad = await ufa_tech.post(f"/conversations/{handoff_id}/transfer", {"city": "Атлантида", "department": "tech"})
    assert bad.status_code == 422
    assert (await ufa_tech.post(f"/conversations/{handoff_id}/transfer", {"department": "sales"})).status_code == 422


async def test_transfer_to_no_city_says_the_place_and_that_the_time_is_unknown(console):
    chat, handoff_id = await console.queued_chat("Москва")
    anna = await console.agent("anna", cities="Москва", departments="subscriber")
    await anna.post(f"/conversations/{handoff_id}/takeover")
    moved = await anna.post(f"/conversations/{handoff_id}/transfer", {"department": "tech"})
    assert moved.status_code == 200, moved.text
    told = [t for t in await console.mailbox(chat) if "Ваш вопрос передан" in t]
    # No city, no time zone to count the department's hours in: no time is promised.
    assert told == ["Ваш вопрос передан: Техподдержка, город не указан. Вы в очереди, ваше место — 1-е. "
                    "Следующий свободный оператор ответит здесь, в этом чате."]


async def test_viewing_shows_who_is_looking_for_30_seconds(console):
    chat, handoff_id = await console.queued_chat()
    anna, boris = await console.agent("anna"), await console.agent("boris")
    assert (await anna.post(f"/conversations/{handoff_id}/viewing")).status_code == 204
    for _ in range(100):
        items = await boris.queue()
        if items[0]["viewers"]:
            break
        await asyncio.sleep(0.02)
    assert items[0]["viewers"] == ["anna"]


async def test_every_action_is_in_the_audit_log_for_supervisors_only(console):
    chat, handoff_id = await console.queued_chat()
    anna = await console.agent("anna")
    chief = await console.agent("chief", supervisor=True)
    await anna.post(f"/conversations/{handoff_id}/takeover")
    await anna.post(f"/conversations/{handoff_id}/messages", {"text": "Добрый день"})
    await anna.post(f"/conversations/{handoff_id}/notes", {"text": "заметка"})
    await anna.post(f"/conversations/{handoff_id}/transfer", {"city": "Москва", "department": "tech"})
    await anna.post(f"/conversations/{handoff_id}/takeover")
    await anna.post(f"/conversations/{handoff_id}/release")
    assert (await anna.get("/audit")).status_code == 404
    entries = (await chief.get("/audit", params={"limit": 50})).json()["entries"]
    actions = [(e["agent"], e["action"], e["target"]) for e in reversed(entries)]
    target = f"conversation:{handoff_id}"
    assert actions == [
        ("anna", "takeover", target), ("anna", "message", target), ("anna", "note", target),
        ("anna", "transfer", target), ("anna", "takeover", target), ("anna", "release", target),
    ]
    assert entries[0]["at"] and "Москва/subscriber → Москва/tech" in entries[2]["detail"]
    assert len((await chief.get("/audit", params={"limit": 2})).json()["entries"]) == 2


async def test_queue_pages_the_oldest_items_and_counts_them_all(console):
    callbacks = console.container.callbacks
    ids = []
    for n in range(4):
        ids.append((await callbacks.request("Уфа", "tech", f"+7900000009{n}")).id)
        console.clock.advance(seconds=1)
    anna = await console.agent("anna")
    page = (await anna.get("/queue", params={"limit": 2})).json()
    assert [i["id"] for i in page["items"]] == ids[:2] and page["total"] == 4
    assert (await anna.get("/queue", params={"limit": 0})).status_code == 422
