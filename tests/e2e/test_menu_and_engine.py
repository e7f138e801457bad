"""Greeting, help, fallbacks, buttons, de-duplication and serialisation."""

from __future__ import annotations

import asyncio


async def test_greeting_shows_the_main_menu(chat):
    await chat.send("привет")
    assert "Здравствуйте" in chat.text
    for title in ("Баланс", "Как оплатить", "Доверительный платёж", "Заказать звонок", "Офисы и часы работы", "Оператор"):
        assert title in chat.buttons()


async def test_help_lists_what_the_bot_can_do(chat):
    await chat.send("что ты умеешь")
    assert "Я умею" in chat.text


async def test_thanks_bye(chat):
    await chat.send("спасибо, до свидания")
    assert "Пожалуйста" in chat.text


async def test_menu_payload_shows_the_menu(chat):
    await chat.press("menu")
    assert "Чем могу помочь" in chat.text


async def test_unknown_payload_is_not_understood(chat):
    await chat.press("drop table accounts")
    assert "не понял" in chat.text


async def test_stale_answer_button_without_a_question(chat):
    await chat.press("inform?city=Уфа")
    assert "кнопка уже не действует" in chat.text


async def test_tech_issue_first_aid_and_ways_to_support(chat):
    await chat.send("не работает интернет")
    assert "роутер" in chat.text
    assert "Звонок техподдержки" in chat.buttons()
    await chat.click("Звонок техподдержки")
    assert "В каком вы городе?" in chat.text  # department already chosen: tech


async def test_tech_issue_of_a_blocked_account_mentions_the_debt(chat):
    await chat.login("1000003", "demo3")
    await chat.send("интернет пропал")
    assert "приостановлены за неуплату" in chat.text


async def test_duplicate_delivery_has_one_effect(stack, chat):
    await chat.login("1000004", "demo4")
    body = {"payload": "trust_payment", "client_message_id": "retry-me"}
    headers = {"Authorization": f"Bearer {chat.token}"}
    first = await chat.client.post("/api/webchat/messages", json=body, headers=headers)
    second = await chat.client.post("/api/webchat/messages", json=body, headers=headers)
    assert first.json()["replies"] == second.json()["replies"]
    assert "подключён" in first.json()["replies"][0]["text"]
    card = await stack.container.billing.find_account("1000004")
    assert str(card.balance) in ("600.00", "600")


async def test_messages_of_one_subscriber_never_interleave(stack, chat):
    await chat.send("войти")
    headers = {"Authorization": f"Bearer {chat.token}"}
    # Account number and password sent at once: the second must see the first's state.
    account, password = await asyncio.gather(
        chat.client.post("/api/webchat/messages", json={"text": "1000002", "client_message_id": "a"}, headers=headers),
        chat.client.post("/api/webchat/messages", json={"text": "demo2", "client_message_id": "b"}, headers=headers),
    )
    texts = account.json()["replies"][0]["text"] + password.json()["replies"][0]["text"]
    # Whatever the order, the form moved forward exactly one step per message.
    assert "пароль" in texts.lower()


async def test_a_flood_of_messages_is_asked_to_slow_down(stack, chat):
    limit = stack.container.engine.limits.messages_per_minute
    for _ in range(limit):
        await chat.press("menu")
    assert "Чем могу помочь" in chat.text
    await chat.press("menu")
    assert "Слишком много сообщений" in chat.text


async def test_a_broken_database_gets_an_apology_not_a_stack_trace(stack, chat):
    from sqlalchemy import text

    async with stack.container.db_engine.begin() as connection:
        await connection.execute(text("DROP TABLE handoffs"))
    replies = await chat.send("привет")
    assert "техническая неполадка" in chat.text and "+7 (8652) 333-333" in chat.text
    assert "Traceback" not in chat.text and "handoffs" not in chat.text
    assert len(replies) == 1
