"""The skills of issue 12 and the conversation that remembers, through Telegram end to
end: real Update JSON (messages and inline-button presses) into the real app on both
databases, with the demo subscribers; what the subscriber sees is what aiogram sent
to the local Bot API double. The web chat twins are tests/e2e/test_self_service.py,
test_voluntary_block.py and test_conversation_memory.py.

The clock is Wednesday 18 November 2026, 12:00 in Moscow (14:00 in Ufa).
Demo subscribers: 1000001/demo1 in Moscow (a positive balance), 1000002/demo2 in Ufa
(50 ₽ against a 450 ₽ fee, so a trust payment is offered).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from billing.models import BillingAudit, VoluntaryBlockRow
from dispatcher.models import CallbackRequest
from tests.e2e.conftest import WEDNESDAY_NOON_MOSCOW, Clock
from tests.doubles.telegram_bot_api import TelegramUser, UpdateFactory
from tests.telegram.harness import SUBSCRIBER_ID, joined, telegram_app, telegram_settings

CONVERSATION = f"telegram:{SUBSCRIBER_ID}"
NOT_UNDERSTOOD = "не понял"


@pytest.fixture
def clock() -> Clock:
    return Clock(WEDNESDAY_NOON_MOSCOW)


@pytest.fixture
async def tg(database_url, bot_api, tmp_path, clock):
    settings = telegram_settings(database_url, bot_api, tmp_path)
    async with telegram_app(settings, bot_api, demo=True, clock=clock) as harness:
        yield harness


async def log_in(tg, account: str = "1000002", password: str = "demo2") -> None:
    await tg.say("войти")
    await tg.say(account)
    assert "вы вошли" in joined(await tg.say(password)).lower()


async def queued_requests(tg) -> list[CallbackRequest]:
    async with tg.container.sessions() as session:
        query = select(CallbackRequest).where(CallbackRequest.status == "queued")
        return list(await session.scalars(query))


async def answer_city(tg, city: str) -> str:
    """Answer «В каком вы городе?» as a Telegram user would: with the city's button,
    which the question must offer."""
    return joined(await tg.press(city, latest=True))


def after_resuming(texts: list[str]) -> str:
    """The question a form asks again after a digression: the message right after
    «Теперь вернёмся к моему вопросу.» (Telegram then sends the form's inline buttons
    separately, under «Или выберите вариант:»)."""
    resume = texts.index("Теперь вернёмся к моему вопросу.")
    assert resume > 0, texts  # the digression was answered first
    return texts[resume + 1]


# -- the personal cabinet: registration, login, restoring access ------------------------------------


async def test_registration_explains_the_login_and_does_not_start_the_login_form(tg):
    text = joined(await tg.say("как зарегистрироваться в личном кабинете"))
    assert "Отдельно регистрироваться в личном кабинете не нужно" in text
    assert "памятке абонента" in text and "паспорт" in text
    assert "Напишите номер лицевого счёта" not in text  # the login form is not started
    site = joined(await tg.press("Как войти на сайте", latest=True))
    assert "Как войти в личный кабинет на сайте" in site and "«Для дома»" in site
    business = joined(await tg.say("личный кабинет для юрлица"))
    assert "Личный кабинет для бизнеса" in business and "«Для бизнеса»" in business


async def test_restoring_access_three_ways_then_login_still_works(tg):
    text = joined(await tg.say("потерял доступ к личному кабинету"))
    assert "тремя способами" in text
    assert "1. Позвонить в поддержку" in text and "2. На странице входа" in text and "3. Там же указать e-mail" in text
    again = joined(await tg.say("забыл пароль"))
    assert "3. Там же указать e-mail" in again
    tg.find_button("Войти по коду из SMS")  # offered as an inline button
    await log_in(tg)


# -- a new connection ---------------------------------------------------------------------------------


async def test_new_connection_request_is_queued_with_its_topic(tg):
    asked = joined(await tg.say("хочу подключить интернет"))
    assert "заявку на подключение" in asked and "В каком вы городе?" in asked
    assert "роутер" not in asked.lower()
    assert "Как к вам обращаться?" in await answer_city(tg, "Липецк")
    assert "На какой номер перезвонить?" in joined(await tg.say("ООО Ромашка"))
    done = joined(await tg.say("8 900 555 44 33"))
    assert "Заявка на подключение передана в абонентский отдел (Подключение: ООО Ромашка)" in done
    assert "Абонентский отдел, Липецк" in done
    [request] = await queued_requests(tg)
    assert (request.city, request.department, request.phone) == ("Липецк", "subscriber", "+79005554433")
    assert request.topic == "Подключение: ООО Ромашка"


async def test_new_connection_with_the_phone_shared_by_the_contact_button(tg):
    await tg.say("подключите пожалуйста интернет в Уфе")  # the city is in the request
    calls = await tg.deliver(tg.updates.text("Анна"))
    [question] = [c for c in calls if "На какой номер перезвонить?" in c.params.get("text", "")]
    assert question.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    done = joined(await tg.deliver_texts(tg.updates.own_contact("79005554433")))
    assert "Заявка на подключение передана" in done
    [request] = await queued_requests(tg)
    assert (request.city, request.phone, request.topic) == ("Уфа", "+79005554433", "Подключение: Анна")


# -- voluntary block ------------------------------------------------------------------------------------


async def voluntary_blocks(tg) -> list[VoluntaryBlockRow]:
    async with tg.container.sessions() as session:
        return list(await session.scalars(select(VoluntaryBlockRow).order_by(VoluntaryBlockRow.id)))


async def test_holiday_block_with_buttons_then_lifted_early(tg):
    asked = joined(await tg.say("хочу заблокировать счёт на время отпуска"))
    assert "номер лицевого счёта" in asked.lower()  # verification first
    await tg.say("1000001")
    rules = joined(await tg.say("demo1"))
    assert "Добровольная блокировка приостанавливает услуги" in rules
    assert "от 7 до 90 дней" in rules and "бесплатно" in rules and "С какого дня заблокировать?" in rules
    assert "На сколько дней?" in joined(await tg.press("С завтра", latest=True))
    summary = joined(await tg.press("14 дней", latest=True))
    assert "с 19 ноября 2026 по 2 декабря 2026 включительно (14 дн.)" in summary
    assert "Услуги вернутся автоматически 3 декабря 2026 в 00:00" in summary
    placed = joined(await tg.press("Поставить блокировку", latest=True))
    assert "Готово: добровольная блокировка поставлена с 19 ноября 2026 на 14 дн." in placed
    [block] = await voluntary_blocks(tg)
    assert block.status == "active" and block.days == 14

    assert "уже стоит добровольная блокировка" in joined(await tg.say("добровольная блокировка"))
    assert "Блокировка снята" in joined(await tg.press("Снять блокировку", latest=True))
    [block] = await voluntary_blocks(tg)
    assert block.status == "lifted"
    async with tg.container.sessions() as session:
        actions = list(await session.scalars(select(BillingAudit.action).order_by(BillingAudit.id)))
    assert actions == ["voluntary_block.placed", "voluntary_block.lifted"]


async def test_a_second_tap_on_an_old_confirm_button_places_no_second_block(tg):
    await log_in(tg, "1000001", "demo1")
    await tg.say("добровольная блокировка")
    await tg.press("С завтра", latest=True)
    await tg.press("7 дней", latest=True)
    assert "поставлена" in joined(await tg.press("Поставить блокировку", latest=True))
    again = joined(await tg.press("Поставить блокировку"))  # the same old message, tapped again
    assert "Эта кнопка уже не действует" in again and "Готово" not in again
    [block] = await voluntary_blocks(tg)
    assert block.status == "active"
    assert "уже стоит добровольная блокировка" in joined(await tg.say("добровольная блокировка"))
    assert "Блокировка снята" in joined(await tg.press("Снять блокировку", latest=True))
    twice = joined(await tg.press("Снять блокировку"))  # tapped twice
    assert "нет добровольной блокировки" in twice
    [block] = await voluntary_blocks(tg)
    assert block.status == "lifted"
    async with tg.container.sessions() as session:
        actions = list(await session.scalars(select(BillingAudit.action).order_by(BillingAudit.id)))
    assert actions == ["voluntary_block.placed", "voluntary_block.lifted"]  # one effect per action


async def test_block_dates_typed_and_refused_with_no(tg):
    await log_in(tg, "1000001", "demo1")
    summary = joined(await tg.say("заморозьте мой лицевой счет с 1 декабря на 2 недели"))
    assert "с 1 декабря 2026 по 14 декабря 2026 включительно (14 дн.)" in summary
    assert "блокировку не ставлю" in joined(await tg.say("нет"))
    assert await voluntary_blocks(tg) == []


# -- tariffs ---------------------------------------------------------------------------------------------


async def test_current_tariff_and_a_change_request_naming_the_tariff(tg):
    assert "номер лицевого счёта" in joined(await tg.say("какой у меня тариф")).lower()
    await tg.say("1000002")
    card = joined(await tg.say("demo2"))
    assert "Лицевой счёт 1000002" in card and "Абонентская плата: 450\u00a0₽ в месяц" in card
    assert "На какой тариф хотите перейти?" in joined(await tg.press("Сменить тариф", latest=True))
    assert "Перезвонить на номер из договора" in joined(await tg.say("500 Мбит"))
    done = joined(await tg.press("Да, на этот номер", latest=True))
    assert "Заявка на смену тарифа передана" in done
    assert "Абонентский отдел, Уфа" in done  # the account's city, not asked
    [request] = await queued_requests(tg)
    assert request.topic == "Смена тарифа: 500 Мбит, лицевой счёт 1000002"
    assert request.phone == "+79000000002" and request.account_number == "1000002"


async def test_tariff_advice_for_an_anonymous_subscriber(tg):
    assert "В каком вы городе?" in joined(await tg.say("хочу сменить тариф"))
    await answer_city(tg, "Томск")
    await tg.press("Посоветуйте тариф", latest=True)
    await tg.say("89001112233")
    [request] = await queued_requests(tg)
    assert request.topic == "Смена тарифа: нужна консультация" and request.city == "Томск"


# -- the mobile app, safe use ----------------------------------------------------------------------------


async def test_mobile_app(tg):
    text = joined(await tg.say("где скачать приложение"))
    assert "«Мой баланс»" in text and "Google Play" in text and "App Store" in text
    assert "приложени" in joined(await tg.press("Как оплатить", latest=True)).lower()


async def test_safe_use(tg):
    text = joined(await tg.say("какой пароль надежный"))
    assert "не короче 6 символов" in text and "не реже раза в квартал" in text
    assert "https://" in text and "ChronoPay" in text and "без комиссии" in text
    assert "тремя способами" in joined(await tg.press("Восстановить доступ", latest=True))


# -- contract termination ------------------------------------------------------------------------------------


async def test_termination_explains_and_queues_a_call_without_login(tg):
    text = joined(await tg.say("хочу расторгнуть договор"))
    assert "по письменному заявлению" in text and "добровольная блокировка" in text
    assert "пароль" not in text
    assert "В каком вы городе?" in joined(await tg.press("Заказать звонок", latest=True))
    await answer_city(tg, "Белгород")
    assert "Расторжение договора" in joined(await tg.say("+7 900 222-33-44"))
    [request] = await queued_requests(tg)
    assert (request.topic, request.department, request.city) == ("Расторжение договора", "subscriber", "Белгород")


# -- the callback's preferred time ---------------------------------------------------------------------------


async def test_tomorrow_after_lunch_is_scheduled_and_read_back(tg):
    await tg.say("перезвоните мне пожалуйста")
    await tg.press("Абонентский отдел", latest=True)
    await answer_city(tg, "Москва")
    assert "Когда вам удобно" in joined(await tg.say("8 900 123 45 67"))
    assert "Коротко опишите вопрос" in joined(await tg.say("завтра после обеда"))
    text = joined(await tg.press("Пропустить", latest=True))
    assert "Позвоним в удобное вам время — завтра в 13:00" in text
    assert "сегодня" not in text
    [request] = await queued_requests(tg)
    assert request.scheduled_for == datetime(2026, 11, 19, 10, 0, tzinfo=timezone.utc)  # 13:00 Moscow
    assert request.preferred_time == "завтра после обеда"


async def test_callback_time_picked_by_button(tg):
    await tg.say("перезвоните мне")
    await tg.press("Абонентский отдел", latest=True)
    await answer_city(tg, "Москва")
    await tg.say("8 900 123 45 67")
    assert "Коротко опишите вопрос" in joined(await tg.press("Как можно скорее", latest=True))
    assert "Заявка №" in joined(await tg.press("Пропустить", latest=True))
    [request] = await queued_requests(tg)
    assert request.preferred_time in (None, "")


# -- memory: «да» after an offer --------------------------------------------------------------------------------


async def test_yes_after_the_trust_payment_offer_grants_it(tg):
    await log_in(tg)
    balance = joined(await tg.say("какой у меня баланс"))
    assert "не хватает 400\u00a0₽" in balance and "подключить его?" in balance
    assert "Доверительный платёж подключён" in joined(await tg.say("да"))


async def test_no_after_the_offer_and_then_yes_means_nothing(tg):
    await log_in(tg)
    await tg.say("баланс")
    assert "Хорошо, не буду" in joined(await tg.say("нет, спасибо"))
    assert NOT_UNDERSTOOD in joined(await tg.say("да"))
    card = await tg.container.billing.find_account("1000002")
    assert card.trust_payment_until is None


# -- memory: «а в воскресенье?» after office hours -----------------------------------------------------------


async def test_office_hours_then_sunday_then_another_city(tg):
    await tg.say("часы работы в москве")
    sunday = joined(await tg.say("а в воскресенье?"))
    assert sunday.startswith("Москва, воскресенье, 22 ноября")
    assert "Офис (ул. Тверская, 12): выходной" in sunday
    assert "Техподдержка: круглосуточно" in sunday
    assert joined(await tg.say("а в Уфе?")).startswith("Уфа, сейчас 14:00")


async def test_a_day_with_nothing_to_continue_is_not_understood(tg):
    assert NOT_UNDERSTOOD in joined(await tg.say("а в воскресенье?"))


async def test_office_hours_by_button_then_saturday(tg):
    await tg.say("часы работы офиса")
    await tg.press("Уфа", latest=True)
    saturday = joined(await tg.say("а в субботу?"))
    assert saturday.startswith("Уфа, суббота, 21 ноября")
    assert "Офис (ул. Ленина, 70): 10:00–16:00" in saturday


# -- memory: «ну что там?» while waiting for an operator ---------------------------------------------------


async def test_status_while_waiting_for_an_operator(tg, clock):
    await log_in(tg, "1000001", "demo1")
    assert "Абонентский отдел, Москва" in joined(await tg.say("позовите оператора"))
    status = joined(await tg.say("ну что там?"))
    assert "Вы 1-й в очереди к оператору (Абонентский отдел, Москва), ждёте меньше минуты" in status
    clock.advance(minutes=7)
    later = joined(await tg.say("скоро?"))
    assert "ждёте 7 мин." in later and "Вы следующий: оператор ответит, как только освободится." in later
    record = await tg.container.handoffs.current(CONVERSATION)
    assert record.reason == "asked"  # not counted as misunderstandings
    # «Не хотите ждать? Хотите, перезвоним?» — «да» turns to the callback, phone from the contract.
    assert "Перезвонить на номер из договора" in joined(await tg.say("да"))


async def test_the_place_in_the_queue_moves_up_behind_another_telegram_user(tg):
    # update_id is per bot, not per chat: both users draw from one sequence.
    neighbour = UpdateFactory(TelegramUser(id=SUBSCRIBER_ID + 1, first_name="Пётр"), update_ids=tg.updates.update_ids)
    await tg.deliver(neighbour.text("оператор в москве"))
    await tg.say("позовите оператора, я в москве")
    assert "Вы 2-й в очереди" in joined(await tg.say("ну что там"))
    first = await tg.container.handoffs.current(f"telegram:{SUBSCRIBER_ID + 1}")
    assert await tg.container.handoffs.claim(first.id, "agent-anna")
    assert "Вы 1-й в очереди" in joined(await tg.say("ау, скоро?"))


async def test_yes_to_a_call_back_when_the_department_is_closed(tg, clock):
    clock.now = datetime(2026, 11, 18, 19, 0, tzinfo=timezone.utc)  # 22:00 in Moscow
    await log_in(tg, "1000001", "demo1")
    assert "Хотите, перезвоним в рабочее время?" in joined(await tg.say("оператор"))
    # The department and the city are known: only the phone is asked.
    assert "Перезвонить на номер из договора" in joined(await tg.say("да, давайте"))
    await tg.press("Да, на этот номер", latest=True)
    await tg.press("Как можно скорее", latest=True)
    assert "Абонентский отдел, Москва" in joined(await tg.press("Пропустить", latest=True))
    [request] = await queued_requests(tg)
    assert (request.city, request.phone) == ("Москва", "+79000000001")


# -- memory: a question in the middle of a form ---------------------------------------------------------------


async def test_a_question_in_the_login_form_is_answered_and_the_form_resumed(tg):
    assert "номер лицевого счёта" in joined(await tg.say("войти"))
    texts = await tg.say("где ближайший терминал?")
    assert "Кажется, это не ответ" not in joined(texts)
    assert "терминал" in joined(texts).lower()
    assert "номер лицевого счёта" in after_resuming(texts)
    await tg.say("1000002")
    assert "вы вошли" in joined(await tg.say("demo2")).lower()


async def test_no_digression_is_read_while_a_password_is_awaited(tg):
    await tg.say("войти")
    await tg.say("1000002")
    update = tg.updates.text("где ближайший терминал?")
    calls = await tg.deliver(update)
    # Taken as a (wrong) password: deleted from the chat, never answered, never in the transcript.
    answer = joined([c.params["text"] for c in calls if c.method == "sendMessage"])
    assert "пароль не подходят" in answer and "терминал" not in answer.lower()
    [deletion] = [c for c in calls if c.method == "deleteMessage"]
    assert deletion.params["message_id"] == update["message"]["message_id"]
    history = await tg.container.transcript.history(CONVERSATION)
    assert history and not any("терминал" in line.text for line in history)


async def test_a_question_while_the_phone_is_asked_then_cancel(tg):
    await tg.say("перезвоните мне")
    await tg.press("Абонентский", latest=True)
    await answer_city(tg, "Уфа")
    texts = await tg.say("до скольки работает офис?")
    assert "Уфа, сейчас 14:00" in joined(texts)
    assert "На какой номер перезвонить?" in after_resuming(texts)
    assert "Хорошо, отменил" in joined(await tg.say("отмена"))
    assert await queued_requests(tg) == []


# -- memory: what was named earlier --------------------------------------------------------------------------


async def test_operator_two_messages_after_naming_the_city(tg):
    await tg.say("часы работы в уфе")
    await tg.say("как оплатить")
    answer = joined(await tg.say("позовите оператора"))
    assert "В каком вы городе?" not in answer
    assert "Абонентский отдел, Уфа" in answer


async def test_city_picked_by_button_is_remembered_for_the_callback(tg):
    await tg.say("часы работы офиса")
    await tg.press("Нефтекамск", latest=True)
    await tg.say("перезвоните мне")
    asked = joined(await tg.press("Абонентский отдел", latest=True))
    assert "В каком вы городе?" not in asked and "На какой номер перезвонить?" in asked


async def test_an_account_named_earlier_is_used_for_the_login(tg):
    await tg.say("мой лицевой счет 1000002")
    await tg.say("отмена")
    asked = joined(await tg.say("какой у меня баланс"))
    assert "Вхожу в лицевой счёт 1000002" in asked and "пароль" in asked
    assert "Лицевой счёт 1000002 (Уфа)" in joined(await tg.say("demo2"))


# -- thanks and goodbye ------------------------------------------------------------------------------------


async def test_goodbye_and_thanks_are_different(tg):
    assert joined(await tg.say("пока")).startswith("До свидания!")
    thanks = joined(await tg.say("спасибо"))
    assert thanks.startswith("Пожалуйста!") and "До свидания" not in thanks
    assert joined(await tg.say("спасибо, до свидания")).startswith("Пожалуйста! До свидания")

