"""Normalisation: transliteration, keyboard layout, look-alike letters, stemming."""

import pytest

from dialogs.nlu.fuzzy import edit_distance
from dialogs.nlu.text import fix_homoglyphs, fold, from_keyboard_layout, stem, transliterate


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("balans", "баланс"),
        ("skolko", "сколко"),
        ("schetu", "счету"),
        ("moy", "мой"),
        ("vy", "вы"),
        ("zhivoy", "живой"),
        ("chelovek", "человек"),
        ("shchas", "щас"),
        ("yelets", "елец"),
        ("kabinet", "кабинет"),
        ("lipeck", "липецк"),
        ("dolg", "долг"),
    ],
)
def test_transliteration(latin, cyrillic):
    assert transliterate(latin) == cyrillic


def test_keyboard_layout_and_homoglyphs():
    assert from_keyboard_layout("ghbdtn") == "привет"
    assert from_keyboard_layout(",fkfyc") == "баланс"
    assert fix_homoglyphs("привeт") == "привет"


def test_fold():
    assert fold("ЛИЦЕВОЙ СЧЁТ") == "лицевой счет"


@pytest.mark.parametrize(("word", "expected"), [("баланса", "баланс"), ("балансе", "баланс"), ("тв", "тв")])
def test_stem(word, expected):
    assert stem(word) == expected


def test_bounded_edit_distance():
    assert edit_distance("пароль", "пароль", 1) == 0
    assert edit_distance("пороль", "пароль", 1) == 1
    assert edit_distance("апроль", "пароль", 1) == 1  # transposition
    assert edit_distance("невиномыске", "невинномысске", 2) == 2
    assert edit_distance("москва", "томск", 2) == 3  # over the limit: limit + 1
