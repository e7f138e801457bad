"""The skills from the provider's articles through the web chat: the personal
cabinet, the app, safe use, new connections, tariffs, contract termination, and
the callback's preferred time."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from dispatcher.models import CallbackRequest


async def open_requests(stack):
    async with stack.container.sessions() as session:
        return list(await session.scalars(select(CallbackRequest).where(CallbackRequest.status == "queued")))


# -- the personal cabinet ------------------------------------------------------------------------


async def test_registration_explains_where_the_login_comes_from_and_does_not_start_login(chat):
    await chat.send("как зарегистрироваться в личном кабинете")
    text = chat.text
    assert "Отдельно регистрироваться в личном кабинете не нужно" in text
    assert "памятке абонента" in text and "15 минут" in text and "паспорт" in text
    assert "номер лицевого счёта" not in text.split("\n")[-1]  # no login question
    assert "Заявка на подключение" in chat.buttons()
    await chat.click("Как войти на сайте")
    assert "Как войти в личный кабинет на сайте" in chat.text and "«Для дома»" in chat.text


async def test_business_cabinet(chat):
    await chat.send("личный кабинет для юрлица")
    assert "Личный кабинет для бизнеса" in chat.text
    assert "«Для бизнеса»" in chat.text and "статический IP" in chat.text


async def test_cabinet_features(chat):
    await chat.send("что можно делать в личном кабинете")
    assert "В личном кабинете можно" in chat.text and "добровольная блокировка" in chat.text


async def test_three_ways_to_restore_access(chat):
    await chat.send("потерял доступ к личному кабинету")
    text = chat.text
    assert "тремя способами" in text
    assert "1. Позвонить в поддержку" in text and "2. На странице входа" in text and "3. Там же указать e-mail" in text
    await chat.send("забыл пароль")  # the password-reset intent gives the same three ways
    assert "3. Там же указать e-mail" in chat.text and "Войти по коду из SMS" in chat.buttons()


# -- the app and safe use -----------------------------------------------------------------------------


async def test_mobile_app(chat):
    await chat.send("где скачать приложение")
    text = chat.text
    assert "«Мой баланс»" in text and "Google Play" in text and "App Store" in text
    assert "«Обратный звонок»" in text and "отдельное приложение" in text
    await chat.click("Как оплатить")
    assert "приложени" in chat.text.lower()


async def test_security_rules(chat):
    await chat.send("какой пароль надежный")
    text = chat.text
    assert "не короче 6 символов" in text and "не реже раза в квартал" in text
    assert "https://" in text and "ChronoPay" in text and "без комиссии" in text
    await chat.click("Восстановить доступ")
    assert "тремя способами" in chat.text


# -- a new connection ------------------------------------------------------------------------------------


async def test_new_connection_request_is_queued_for_the_subscriber_department(stack, chat):
    await chat.send("хочу подключить интернет")
    assert "заявку на подключение" in chat.text
    assert "В каком вы городе?" in chat.text
    assert "роутер" not in chat.text.lower()
    await chat.send("Липецк")
    assert "Как к вам обращаться?" in chat.text
    await chat.send("ромашка" * 20)  # longer than a name can be
    assert "буквами" in chat.text
    await chat.send("ООО Ромашка")
    assert "На какой номер перезвонить?" in chat.text
    await chat.send("8 900 555 44 33")
    assert "Заявка на подключение передана в абонентский отдел (Подключение: ООО Ромашка)" in chat.text
    assert "Абонентский отдел, Липецк" in chat.text
    [request] = await open_requests(stack)
    assert (request.city, request.department, request.phone) == ("Липецк", "subscriber", "+79005554433")
    assert request.topic == "Подключение: ООО Ромашка"


async def test_new_connection_uses_the_city_named_in_the_request(stack, chat):
    await chat.send("подключите пожалуйста интернет в Уфе")
    assert "Как к вам обращаться?" in chat.text
    await chat.send("Анна")
    await chat.send("+7 900 111-22-33")
    [request] = await open_requests(stack)
    assert request.city == "Уфа" and request.topic == "Подключение: Анна"


async def test_new_connection_can_be_cancelled(stack, chat):
    await chat.send("хочу подключиться к вам")
    await chat.send("отмена")
    assert "отменил" in chat.text
    assert await open_requests(stack) == []


# -- tariffs ---------------------------------------------------------------------------------------------


async def test_current_tariff_after_login(chat):
    await chat.send("какой у меня тариф")
    assert "номер лицевого счёта" in chat.text.lower()
    await chat.send("1000002")
    await chat.send("demo2")
    text = chat.text
    assert "Лицевой счёт 1000002" in text and "Абонентская плата: 450\u00a0₽ в месяц" in text
    assert "Сменить тариф" in chat.buttons()


async def test_tariff_change_request_names_the_tariff(stack, chat):
    await chat.login("1000002", "demo2")
    await chat.send("какой у меня тариф")
    await chat.click("Сменить тариф")
    assert "На какой тариф хотите перейти?" in chat.text
    await chat.send("500 Мбит")
    assert "Перезвонить на номер из договора" in chat.text
    await chat.click("Да, на этот номер")
    assert "Заявка на смену тарифа передана" in chat.text
    assert "Абонентский отдел, Уфа" in chat.text  # the account's city, not asked
    [request] = await open_requests(stack)
    assert request.topic == "Смена тарифа: 500 Мбит, лицевой счёт 1000002"
    assert request.phone == "+79000000002" and request.account_number == "1000002"


async def test_tariff_change_without_a_tariff_in_mind(stack, chat):
    await chat.send("хочу сменить тариф")
    assert "В каком вы городе?" in chat.text
    await chat.send("Томск")
    await chat.click("Посоветуйте тариф")
    await chat.send("89001112233")
    [request] = await open_requests(stack)
    assert request.topic == "Смена тарифа: нужна консультация" and request.city == "Томск"


# -- contract termination -----------------------------------------------------------------------------


async def test_termination_explains_and_queues_a_call_without_login(stack, chat):
    await chat.send("хочу расторгнуть договор")
    text = chat.text
    assert "по письменному заявлению" in text and "«Документы» — «Заявления»" in text
    assert "в течение суток" in text and "добровольная блокировка" in text
    assert "Напишите номер" not in text and "пароль" not in text  # no login
    await chat.click("Заказать звонок")
    assert "В каком вы городе?" in chat.text
    await chat.send("Белгород")
    await chat.send("+7 900 222-33-44")
    assert "Расторжение договора" in chat.text
    [request] = await open_requests(stack)
    assert request.topic == "Расторжение договора" and request.department == "subscriber"


async def test_termination_buttons_lead_to_offices_and_block(chat):
    await chat.send("расторгнуть договор")
    await chat.click("Офисы")
    assert "В каком вы городе?" in chat.text


# -- the callback's preferred time ------------------------------------------------------------------------


async def order_callback_at(chat, when: str, city: str = "Москва", department: str = "Абонентский отдел"):
    await chat.send("перезвоните мне пожалуйста")
    await chat.click(department)
    await chat.send(city)
    await chat.send("8 900 123 45 67")
    assert "Когда вам удобно" in chat.text
    await chat.send(when)


async def test_tomorrow_after_lunch_is_scheduled_and_read_back(stack, chat):
    await order_callback_at(chat, "завтра после обеда")
    assert "Коротко опишите вопрос" in chat.text
    await chat.click("Пропустить")
    text = chat.text
    assert "Позвоним в удобное вам время — завтра в 13:00" in text
    assert "сегодня" not in text
    [request] = await open_requests(stack)
    assert request.scheduled_for == datetime(2026, 11, 19, 10, 0, tzinfo=timezone.utc)  # 13:00 Moscow
    assert request.preferred_time == "завтра после обеда"


async def test_friday_morning_in_vladivostok_is_its_own_morning(stack, chat):
    await order_callback_at(chat, "в пятницу утром", city="Владивосток")
    await chat.click("Пропустить")
    assert "в пятницу в 09:00" in chat.text  # the department opens at 09:00, not 08:00
    [request] = await open_requests(stack)
    assert request.scheduled_for == datetime(2026, 11, 19, 23, 0, tzinfo=timezone.utc)  # Fri 09:00 UTC+10


async def test_after_18_today(stack, chat):
    await order_callback_at(chat, "после 18")
    await chat.send("по поводу оплаты")
    assert "сегодня в 18:00" in chat.text


async def test_time_outside_the_department_hours_is_moved_and_said(stack, chat):
    await order_callback_at(chat, "в воскресенье в 20:00")
    assert "не работает в это время" in chat.text or "в это время не работает" in chat.text
    assert "в понедельник в 09:00" in chat.text
    await chat.click("Пропустить")
    assert "в понедельник в 09:00" in chat.text


async def test_unreadable_time_is_asked_again_and_past_time_refused(stack, chat):
    await order_callback_at(chat, "когда-нибудь")
    assert "Не понял, когда вам удобно" in chat.text
    await chat.send("сегодня утром")
    assert "уже прошло" in chat.text
    await chat.click("Как можно скорее")
    assert "Коротко опишите вопрос" in chat.text


async def test_time_said_with_the_request(stack, chat):
    await chat.send("позвоните мне завтра после обеда")
    await chat.click("Техподдержка")
    await chat.send("Уфа")
    await chat.send("8 900 123 45 67")
    assert "Коротко опишите вопрос" in chat.text  # the time was not asked again
    await chat.send("роутер")
    assert "завтра в 13:00" in chat.text
