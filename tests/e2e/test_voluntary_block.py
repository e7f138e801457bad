"""Voluntary block through the web chat: every branch of the dialog."""

from __future__ import annotations

from sqlalchemy import select

from billing.models import BillingAudit, VoluntaryBlockRow


async def _blocks(stack):
    async with stack.container.sessions() as session:
        return list(await session.scalars(select(VoluntaryBlockRow).order_by(VoluntaryBlockRow.id)))


async def test_holiday_block_after_login_then_lifted_early(stack, chat):
    await chat.send("хочу заблокировать счёт на время отпуска")
    assert "номер лицевого счёта" in chat.text.lower()  # verification first
    await chat.send("1000001")
    await chat.send("demo1")
    text = chat.text
    assert "Добровольная блокировка приостанавливает услуги" in text
    assert "от 7 до 90 дней" in text and "бесплатно" in text
    assert "С какого дня заблокировать?" in text
    await chat.send("с 1 декабря")
    assert "На сколько дней?" in chat.text and "14 дней" in chat.buttons()
    await chat.send("на 2 недели")
    summary = chat.text
    assert "с 1 декабря 2026 по 14 декабря 2026 включительно (14 дн.)" in summary
    assert "Услуги вернутся автоматически 15 декабря 2026 в 00:00" in summary
    await chat.send("да")
    assert "Готово: добровольная блокировка поставлена с 1 декабря 2026 на 14 дн." in chat.text
    [block] = await _blocks(stack)
    assert block.status == "active" and block.days == 14

    await chat.send("добровольная блокировка")
    assert "уже стоит добровольная блокировка" in chat.text
    await chat.click("Снять блокировку")
    assert "Блокировка снята" in chat.text
    [block] = await _blocks(stack)
    assert block.status == "lifted"
    async with stack.container.sessions() as session:
        actions = list(await session.scalars(select(BillingAudit.action).order_by(BillingAudit.id)))
    assert actions == ["voluntary_block.placed", "voluntary_block.lifted"]


async def test_date_and_days_in_one_message_and_buttons(stack, chat):
    await chat.login("1000001", "demo1")
    await chat.send("заморозьте мой лицевой счет с завтра на 10 дней")
    assert "с 19 ноября 2026 по 28 ноября 2026 включительно (10 дн.)" in chat.text
    await chat.click("Поставить блокировку")
    assert "поставлена с 19 ноября 2026 на 10 дн." in chat.text
    assert "Услуги вернутся 29 ноября 2026" in chat.text


async def test_block_starting_today_freezes_the_balance_card(stack, chat):
    await chat.login("1000001", "demo1")
    await chat.send("добровольная блокировка")
    await chat.click("С сегодня")
    await chat.click("7 дней")
    await chat.click("Поставить блокировку")
    await chat.press("balance")
    assert "приостановлен" in chat.text.lower() or "заморож" in chat.text.lower()


async def test_limits_are_explained_and_asked_again(stack, chat):
    await chat.login("1000001", "demo1")
    await chat.send("добровольная блокировка")
    await chat.send("с 1 марта")
    assert "не позже чем через 30 дн." in chat.text
    await chat.send("вчера")
    assert "Не понял дату" in chat.text or "уже прошёл" in chat.text
    await chat.send("с понедельника")
    assert "На сколько дней?" in chat.text
    await chat.send("на 200 дней")
    assert "от 7 до 90 дней" in chat.text
    await chat.send("на 3 дня")
    assert "от 7 до 90 дней" in chat.text
    await chat.send("на месяц")
    assert "(30 дн.)" in chat.text
    await chat.send("нет")
    assert "блокировку не ставлю" in chat.text
    assert await _blocks(stack) == []


async def test_blocked_for_debt_is_told_to_pay_first(stack, chat):
    await chat.login("1000003", "demo3")
    await chat.send("добровольная блокировка")
    await chat.click("С завтра")
    await chat.click("7 дней")
    await chat.click("Поставить блокировку")
    assert "из-за задолженности" in chat.text
    assert await _blocks(stack) == []


async def test_account_frozen_otherwise(stack, chat):
    await chat.login("1000005", "demo5")
    await chat.send("добровольная блокировка")
    await chat.click("С завтра")
    await chat.click("7 дней")
    await chat.click("Поставить блокировку")
    assert "уже приостановлен" in chat.text


async def test_nothing_to_lift(chat):
    await chat.login("1000001", "demo1")
    await chat.send("снимите блокировку досрочно")
    assert "нет добровольной блокировки" in chat.text


async def test_lift_asked_by_a_subscriber_cut_off_for_debt(chat):
    await chat.login("1000003", "demo3")
    await chat.send("снимите добровольную блокировку")
    assert "из-за задолженности" in chat.text
    assert "Доверительный платёж" in chat.buttons()


async def test_cancel_in_the_middle(stack, chat):
    await chat.login("1000001", "demo1")
    await chat.send("добровольная блокировка")
    await chat.send("отмена")
    assert "отменил" in chat.text
    assert await _blocks(stack) == []
