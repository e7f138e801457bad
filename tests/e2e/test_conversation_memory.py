"""A conversation that remembers (issue 12), through the web chat on both backends:
yes/no to an offer, follow-ups with a day, the place in the operator queue, questions
asked in the middle of a form, what was named earlier, thanks and goodbye."""

from __future__ import annotations

from datetime import datetime, timezone

NOT_UNDERSTOOD = "не понял"


# -- «да» / «нет» after an offer ----------------------------------------------------------------
async def test_yes_after_the_trust_payment_offer_grants_it(chat):
    await chat.login("1000002", "demo2")
    await chat.send("какой у меня баланс")
    assert "не хватает 400\u00a0₽" in chat.text and "подключить его?" in chat.text
    await chat.send("да")
    assert "Доверительный платёж подключён" in chat.text


async def test_no_after_an_offer_is_a_polite_no_and_the_offer_is_gone(stack, chat):
    await chat.login("1000002", "demo2")
    await chat.send("баланс")
    await chat.send("нет, спасибо")
    assert "Хорошо, не буду" in chat.text
    await chat.send("да")
    assert NOT_UNDERSTOOD in chat.text  # nothing is offered any more
    card = await stack.container.billing.find_account("1000002")
    assert card.trust_payment_until is None


async def test_yes_with_nothing_offered_is_not_understood(chat):
    await chat.send("да")
    assert NOT_UNDERSTOOD in chat.text


async def test_an_offer_is_answered_only_by_the_next_message(chat):
    await chat.login("1000002", "demo2")
    await chat.send("баланс")
    await chat.send("как оплатить")
    await chat.send("давайте")
    assert "Доверительный платёж подключён" not in chat.text
    assert NOT_UNDERSTOOD in chat.text


async def test_yes_to_a_call_back_when_the_department_is_closed(stack, chat):
    stack.clock.now = datetime(2026, 11, 18, 19, 0, tzinfo=timezone.utc)  # 22:00 Moscow
    await chat.login("1000001", "demo1")
    await chat.send("оператор")
    assert "Хотите, перезвоним в рабочее время?" in chat.text
    await chat.send("да, давайте")
    # The department and the city are known: the callback asks only for the phone.
    assert "Перезвонить на номер из договора" in chat.text
    await chat.click("Да, на этот номер")
    await chat.click("Как можно скорее")
    await chat.click("Пропустить")
    assert "Абонентский отдел, Москва" in chat.text


async def test_an_agent_in_between_forgets_the_bots_offer(stack, chat):
    stack.clock.now = datetime(2026, 11, 18, 19, 0, tzinfo=timezone.utc)  # 22:00 Moscow
    await chat.login("1000001", "demo1")
    await chat.send("оператор")
    assert "Хотите, перезвоним" in chat.text
    handoffs = stack.container.handoffs
    record = await handoffs.current(f"webchat:{chat.session_id}")
    assert await handoffs.claim(record.id, "agent-anna")
    assert await chat.send("здравствуйте") == []  # the agent answers, not the bot
    assert await handoffs.close(record.id, "agent-anna")
    await chat.send("да")
    assert "номер из договора" not in chat.text
    assert NOT_UNDERSTOOD in chat.text


# -- follow-ups: «а в воскресенье?» -----------------------------------------------------------------
async def test_office_hours_then_sunday(chat):
    await chat.send("часы работы в москве")
    await chat.send("а в воскресенье?")
    text = chat.text
    assert text.startswith("Москва, воскресенье, 22 ноября")
    assert "Офис (ул. Тверская, 12): выходной" in text
    assert "Абонентский отдел: 09:00–18:00" in text
    assert "Техподдержка: круглосуточно" in text
    await chat.send("а в Уфе?")  # the city follow-up still works after a day
    assert chat.text.startswith("Уфа, сейчас 14:00")


async def test_tomorrow_is_read_on_the_city_calendar(stack, chat):
    # Wednesday 20:30 UTC: still Wednesday in Moscow (23:30), already Thursday in Vladivostok.
    stack.clock.now = datetime(2026, 11, 18, 20, 30, tzinfo=timezone.utc)
    await chat.send("когда работает офис во владивостоке")
    await chat.send("а завтра?")
    assert chat.text.startswith("Владивосток, пятница, 20 ноября")
    await chat.send("а в Москве?")
    assert chat.text.startswith("Москва, сейчас 23:30")
    await chat.send("а завтра?")
    assert chat.text.startswith("Москва, четверг, 19 ноября")
    assert "Офис (ул. Тверская, 12): 09:00–20:00" in chat.text


async def test_city_and_day_in_one_follow_up(chat):
    await chat.send("часы работы в москве")
    await chat.send("а в Уфе в субботу?")
    assert chat.text.startswith("Уфа, суббота, 21 ноября")
    assert "Офис (ул. Ленина, 70): 10:00–16:00" in chat.text


async def test_a_day_with_nothing_to_continue_is_not_understood(chat):
    await chat.send("а в воскресенье?")
    assert NOT_UNDERSTOOD in chat.text


# -- «ну что там?» while waiting for an operator ---------------------------------------------------------
async def test_status_while_waiting_for_an_operator(stack, chat):
    await chat.login("1000001", "demo1")
    await chat.send("позовите оператора")
    assert "Абонентский отдел, Москва" in chat.text
    await chat.send("ну что там?")
    assert "Вы 1-й в очереди к оператору (Абонентский отдел, Москва), ждёте меньше минуты" in chat.text
    stack.clock.advance(minutes=7)
    await chat.send("скоро?")
    assert "ждёте 7 мин." in chat.text
    assert "Вы следующий: оператор ответит, как только освободится." in chat.text  # the estimate, not a shrug
    assert "Позову оператора" not in chat.text  # not counted as misunderstandings
    record = await stack.container.handoffs.current(f"webchat:{chat.session_id}")
    assert record.reason == "asked"
    await chat.send("да")  # «Не хотите ждать? Хотите, перезвоним?»
    assert "Перезвонить на номер из договора" in chat.text


async def test_status_shows_the_place_moving_up(stack, chat):
    first = await stack.new_chat()
    await first.send("оператор в москве")
    await chat.send("позовите оператора, я в москве")
    await chat.send("ну что там")
    assert "Вы 2-й в очереди" in chat.text
    record = await stack.container.handoffs.current(f"webchat:{first.session_id}")
    assert await stack.container.handoffs.claim(record.id, "agent-anna")
    await chat.send("ау, скоро?")
    assert "Вы 1-й в очереди" in chat.text


# -- questions asked in the middle of a form --------------------------------------------------------------
async def test_a_question_while_the_account_number_is_asked(chat):
    await chat.send("войти")
    assert "номер лицевого счёта" in chat.text
    await chat.send("где ближайший терминал?")
    assert "Кажется, это не ответ" not in chat.text
    assert "терминал" in chat.text.lower()
    assert chat.last[-2]["text"] == "Теперь вернёмся к моему вопросу."
    assert "номер лицевого счёта" in chat.last[-1]["text"]
    await chat.send("1000002")
    await chat.send("demo2")
    assert "вы вошли" in chat.text.lower()


async def test_no_digression_is_read_while_a_password_is_awaited(stack, chat):
    await chat.send("войти")
    await chat.send("1000002")
    await chat.send("где ближайший терминал?")
    # Taken as a (wrong) password: never read, never answered, never shown.
    assert "терминал" not in chat.text.lower()
    assert "пароль не подходят" in chat.text
    lines = await stack.container.transcript.history(f"webchat:{chat.session_id}")
    assert lines and not any("терминал" in line.text for line in lines)


async def test_office_hours_asked_while_the_phone_is_asked_and_cancel_leaves(chat):
    await chat.send("перезвоните мне")
    await chat.click("Абонентский")
    await chat.send("Уфа")
    assert "На какой номер перезвонить?" in chat.text
    await chat.send("до скольки работает офис?")
    assert "Уфа, сейчас 14:00" in chat.text
    assert "На какой номер перезвонить?" in chat.last[-1]["text"]
    await chat.send("отмена")
    assert "Хорошо, отменил" in chat.text


# -- what was named earlier ---------------------------------------------------------------------------------
async def test_operator_two_messages_after_naming_the_city(chat):
    await chat.send("часы работы в уфе")
    await chat.send("как оплатить")
    await chat.send("позовите оператора")
    assert "В каком вы городе?" not in chat.text
    assert "Абонентский отдел, Уфа" in chat.text


async def test_city_and_department_named_to_another_skill(chat):
    await chat.send("когда работает техподдержка в уфе")
    await chat.send("позовите оператора")
    assert "Техподдержка, Уфа" in chat.text


async def test_a_named_city_overrides_the_account_city(chat):
    await chat.login("1000002", "demo2")  # an account in Ufa
    await chat.send("часы работы в москве")
    await chat.send("оператор")
    assert "Абонентский отдел, Москва" in chat.text


async def test_an_account_named_earlier_is_used_for_the_login(chat):
    await chat.send("мой лицевой счет 1000002")
    await chat.send("отмена")
    await chat.send("какой у меня баланс")
    assert "Вхожу в лицевой счёт 1000002" in chat.text
    assert "пароль" in chat.text
    await chat.send("demo2")
    assert "Лицевой счёт 1000002 (Уфа)" in chat.text


async def test_logout_forgets_the_account(chat):
    await chat.login("1000002", "demo2")  # the account typed in the login form is named too
    await chat.send("выйти")
    await chat.send("баланс")
    assert "Вхожу в лицевой счёт" not in chat.text
    assert "номер лицевого счёта" in chat.text


# -- thanks and goodbye ------------------------------------------------------------------------------------
async def test_goodbye_thanks_and_both(chat):
    await chat.send("пока")
    assert chat.text.startswith("До свидания!")
    await chat.send("спасибо")
    assert chat.text.startswith("Пожалуйста!") and "До свидания" not in chat.text
    await chat.send("спасибо, до свидания")
    assert chat.text.startswith("Пожалуйста! До свидания")
    await chat.send("всего доброго")
    assert chat.text.startswith("До свидания!")
