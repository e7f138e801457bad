"""Balance card and payment methods through the web chat."""

from __future__ import annotations


async def test_balance_card_shows_everything(chat):
    await chat.login("1000002", "demo2")
    await chat.send("сколько денег на счету")
    text = chat.text
    assert "Лицевой счёт 1000002 (Уфа)" in text
    assert "Баланс: 50\u00a0₽" in text
    assert "«Домашний 100», 450\u00a0₽ в месяц" in text
    assert "Следующее списание:" in text
    assert "Задолженности нет" in text
    assert "услуги подключены" in text
    assert "не хватает 400\u00a0₽" in text
    assert "Доверительный платёж" in chat.buttons()


async def test_balance_of_a_blocked_account_shows_the_debt(chat):
    await chat.login("1000003", "demo3")
    await chat.press("balance")
    assert "Задолженность: 20\u00a0₽" in chat.text
    assert "приостановлены за неуплату" in chat.text


async def test_balance_with_enough_money_has_no_shortfall(chat):
    await chat.login("1000001", "demo1")
    await chat.press("balance")
    assert "Баланс: 1\u00a0200\u00a0₽" in chat.text
    assert "не хватает" not in chat.text


async def test_all_payment_methods_are_listed_with_buttons(chat):
    await chat.send("как оплатить интернет")
    assert "без комиссии" in chat.text
    titles = chat.buttons()
    for expected in ("Сбербанк", "кошельком", "терминал", "мобильного", "баллами", "приложении", "кабинете"):
        assert any(expected in t for t in titles), (expected, titles)


async def test_one_payment_method_step_by_step(chat):
    await chat.send("как оплатить через сбербанк онлайн")
    assert "Сбербанк Онлайн" in chat.text
    assert "1. " in chat.text and "2. " in chat.text
    assert "Комиссия не взимается" in chat.text


async def test_payment_method_by_button_mentions_the_account_when_logged_in(chat):
    await chat.login("1000002", "demo2")
    await chat.press("payment_methods")
    await chat.click("терминал")
    assert "QIWI" in chat.text and "ComePay" in chat.text
    assert "Ваш лицевой счёт: 1000002" in chat.text
