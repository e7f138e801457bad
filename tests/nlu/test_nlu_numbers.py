"""Phone and account entities, and telling them apart."""

import pytest

from dialogs.nlu.numbers import find_numbers, mask_numbers


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("+7 900 000-00-01", "+79000000001"),
        ("89000000001", "+79000000001"),
        ("8 (900) 000 00 01", "+79000000001"),
        ("8-900-000-00-01", "+79000000001"),
        ("+7(900)0000001", "+79000000001"),
        ("+7 (900) 000-00-01", "+79000000001"),
        ("7 900 000 00 01", "+79000000001"),
        ("79000000001", "+79000000001"),
        ("9000000001", "+79000000001"),
        ("900 000 00 01", "+79000000001"),
        ("+7 (4722) 777-567", "+74722777567"),
        ("8 (8652) 333-333", "+78652333333"),
        ("перезвоните на 8 900 123 45 67 после обеда", "+79001234567"),
        ("мой номер: +7-912-345-67-89.", "+79123456789"),
        ("call me at +79001234567", "+79001234567"),
    ],
)
def test_phone_notations(nlu, text, phone):
    entities = nlu.parse(text).entities
    assert entities.get("phone") == phone
    assert "account" not in entities


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("лс 1000002", "1000002"),
        ("л/с 1000002", "1000002"),
        ("счёт № 1000002", "1000002"),
        ("номер договора 1000002", "1000002"),
        ("1000002", "1000002"),
        ("мой лицевой 10000", "10000"),
        ("лицевой счет 123456789012", "123456789012"),
        ("ls 1000002", "1000002"),
        ("12345678901", "12345678901"),  # eleven digits, but not a Russian phone
        ("мой лс1000002", "1000002"),
        # Phone-shaped, but right after an account word: an account number.
        ("лицевой счет 89000000001", "89000000001"),
        ("договор № 9000000001", "9000000001"),
    ],
)
def test_account_notations(nlu, text, account):
    entities = nlu.parse(text).entities
    assert entities.get("account") == account
    assert "phone" not in entities


def test_account_and_phone_together(nlu):
    for text in (
        "лс 1000002 тел 89000000001",
        "1000002 89000000001",
        "перезвоните мне лс 1000002 телефон +7 900 000-00-01",
        "8 900 000 00 01, договор 1000002",
    ):
        entities = nlu.parse(text).entities
        assert entities.get("account") == "1000002", text
        assert entities.get("phone") == "+79000000001", text


@pytest.mark.parametrize(
    "text",
    [
        "дайте 500000 рублей",
        "заплатил 15000 р",
        "ошибка 651",
        "в 2024 году",
        "перезвоните в 15:30",
        "1234567890123",  # too long for an account, not a phone
    ],
)
def test_other_numbers_are_neither(nlu, text):
    entities = nlu.parse(text).entities
    assert "account" not in entities
    assert "phone" not in entities


def test_masking_gives_the_classifier_placeholders():
    text = "лс 1000002 тел 8 900 000 00 01 в 15 часов"
    masked = mask_numbers(text, find_numbers(text))
    assert masked.split() == ["лс", "_account_", "тел", "_phone_", "в", "_num_", "часов"]


@pytest.mark.parametrize("text", ["пароль 123456", "мой пароль: 55555", "код из смс 123456", "code 654321", "пароль12345"])
def test_passwords_and_codes_are_not_accounts(nlu, text):
    assert "account" not in nlu.parse(text).entities


def test_account_next_to_a_password(nlu):
    assert nlu.parse("лс 1000002 пароль 55555").entities["account"] == "1000002"
