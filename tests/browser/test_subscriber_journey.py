"""The acceptance journey in a real browser: a subscriber of Уфа opens the demo page,
logs in as 1000002/demo2, asks the balance and takes a trust payment.
(1000002 is changed by this test only.)"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_verify_balance_and_trust_payment_in_the_widget(chat):
    answer = chat.send("какой у меня баланс")
    assert "номер лицевого счёта" in answer
    chat.send("1000002")
    answer = chat.send("demo2")
    assert "вы вошли: лицевой счёт 1000002" in answer
    assert "Баланс: 50" in answer  # the question asked before logging in is answered
    assert "Тариф: «Домашний 100»" in answer
    answer = chat.press("Доверительный платёж")
    assert "Доверительный платёж подключён" in answer
    assert "450" in answer
    answer = chat.send("а какой теперь баланс?")
    assert "Баланс: 500" in answer
    assert "Доверительный платёж действует до" in answer
