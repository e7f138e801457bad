"""Callback requests and handoff to agents through the web chat."""

from __future__ import annotations

from datetime import datetime, timezone


async def order_tech_callback(chat, phone="8 900 123 45 67", city="Уфа", remembered=False):
    await chat.send("перезвоните мне пожалуйста")
    if not remembered:  # the department and city named earlier are not asked again
        assert "Кто вам должен перезвонить?" in chat.text
        await chat.click("Техподдержка")
        assert "В каком вы городе?" in chat.text
        await chat.send(city)
    assert "На какой номер перезвонить?" in chat.text
    await chat.send(phone)
    assert "Когда вам удобно" in chat.text
    await chat.click("Как можно скорее")
    assert "Коротко опишите вопрос" in chat.text
    await chat.send("не работает интернет с утра")


async def test_callback_request_full_form(stack, chat):
    await order_tech_callback(chat)
    text = chat.text
    assert "Заявка №" in text
    assert "Техподдержка, Уфа" in text
    assert "+7 900 123-45-67" in text
    assert "Вы 1-й в очереди" in text
    assert "сегодня в 14:00" in text
    waiting = await stack.container.callbacks.open_for_phone("+79001234567")
    assert len(waiting) == 1 and waiting[0].department == "tech"


async def test_second_subscriber_is_second_in_the_queue(stack, chat):
    await order_tech_callback(chat)
    other = await stack.new_chat()
    await order_tech_callback(other, phone="+7 900 765-43-21")
    assert "Вы 2-й в очереди" in other.text


async def test_one_open_request_per_phone_and_department(chat):
    await order_tech_callback(chat)
    await order_tech_callback(chat, remembered=True)
    assert "У вас уже есть заявка" in chat.text


async def test_invalid_phone_is_asked_again(chat):
    await chat.send("закажите обратный звонок")
    await chat.click("Абонентский")
    await chat.send("Москва")
    await chat.send("12345")
    assert "Не похоже на номер телефона" in chat.text
    await chat.send("+7 (495) 123-45-67")
    assert "Когда вам удобно" in chat.text


async def test_logged_in_subscriber_uses_account_city_and_contract_phone(chat):
    await chat.login("1000002", "demo2")
    await chat.press("callback?department=subscriber")
    assert "номер из договора +7 900 ***-**-02" in chat.text
    await chat.click("Да, на этот номер")
    await chat.click("Как можно скорее")
    await chat.click("Пропустить")
    assert "Абонентский отдел, Уфа" in chat.text
    assert "+7 900 000-00-02" in chat.text


async def test_outside_hours_is_scheduled_for_the_next_opening(stack, chat):
    stack.clock.now = datetime(2026, 11, 18, 19, 0, tzinfo=timezone.utc)  # 22:00 Moscow
    await chat.login("1000001", "demo1")
    await chat.press("callback?department=subscriber")
    await chat.click("Да, на этот номер")
    await chat.click("Как можно скорее")
    await chat.click("Пропустить")
    assert "Сейчас отдел не работает" in chat.text
    assert "завтра в 09:00" in chat.text


async def test_cancel_a_callback(stack, chat):
    await order_tech_callback(chat)
    await chat.click("Отменить заявку")
    assert "Заявка на звонок отменена" in chat.text
    assert await stack.container.callbacks.open_for_phone("+79001234567") == []
    await chat.send("отмените звонок")
    assert "нет открытых заявок" in chat.text


async def test_new_question_in_the_middle_of_the_form(chat):
    await chat.send("перезвоните")
    await chat.click("Абонентский")
    await chat.send("как оплатить через сбербанк онлайн")
    assert "Сбербанк Онлайн" in chat.text


async def test_operator_request_is_queued_for_the_city(stack, chat):
    await chat.send("позовите живого оператора")
    assert "В каком вы городе?" in chat.text
    await chat.click("Москва")
    assert "Передаю разговор оператору" in chat.text
    assert "Абонентский отдел, Москва" in chat.text
    assert "Вы 1-й в очереди" in chat.text
    waiting = await stack.container.handoffs.waiting(city="Москва", department="subscriber")
    assert [h.conversation_key for h in waiting] == [f"webchat:{chat.session_id}"]


async def test_operator_for_a_logged_in_subscriber_and_twice(chat):
    await chat.login("1000006", "demo6")
    await chat.send("соедините с оператором")
    assert "Абонентский отдел, Нальчик" in chat.text
    await chat.send("оператор")
    assert "уже в очереди" in chat.text


async def test_two_misunderstandings_hand_over_to_an_agent(stack, chat):
    await chat.send("ыврпаолдж фывапр")
    assert "не понял" in chat.text
    await chat.send("купите мне слона")
    assert "Позову оператора" in chat.text
    record = await stack.container.handoffs.current(f"webchat:{chat.session_id}")
    assert record is not None and record.reason == "not_understood"


async def test_bot_is_silent_while_an_agent_holds_the_conversation(stack, chat):
    await chat.login("1000001", "demo1")
    await chat.send("оператор")
    record = await stack.container.handoffs.current(f"webchat:{chat.session_id}")
    assert await stack.container.handoffs.claim(record.id, "agent-anna")
    response = await chat.client.post(
        "/api/webchat/messages", json={"text": "здравствуйте, у меня вопрос"},
        headers={"Authorization": f"Bearer {chat.token}"},
    )
    assert response.json()["replies"] == []
    assert response.json()["held_by_agent"] is True


async def test_operator_outside_hours_says_when_the_department_opens(stack, chat):
    stack.clock.now = datetime(2026, 11, 18, 19, 0, tzinfo=timezone.utc)  # 22:00 Moscow
    await chat.login("1000001", "demo1")
    await chat.send("оператор")
    assert "сейчас не работает" in chat.text
