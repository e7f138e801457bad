"""clean_text: what a database or messenger refuses goes, everything typed stays."""

from __future__ import annotations

import pytest

from bots.text import clean_optional, clean_text


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("a\x00b", "ab"),
        ("\x01\x02\x07\x08\x0b\x0c\x0e\x1f\x1bзвонок", "звонок"),
        ("строка 1\r\nстрока 2\rстрока 3", "строка 1\nстрока 2\nстрока 3"),
        ("таб\tи\nперенос", "таб\tи\nперенос"),
        ("одинокий \ud800 и \udfff суррогат", "одинокий  и  суррогат"),
        ("не\ufffeсимвол\uffff", "несимвол"),
        ("\ufdd0x\ufdef", "x"),
        ("\U0001fffe\U0010ffff!", "!"),
    ],
)
def test_refused_code_points_are_removed(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    "text",
    ["Здравствуйте", "эмодзи 👍🏽 и нулевая\u200bширина", "👨‍👩‍👧", "ĉu vi?", "  пробелы  ", "\x7fdel", "\u00a0nbsp"],
)
def test_what_people_type_is_kept(text):
    assert clean_text(text) == text


def test_the_result_is_encodable_and_has_no_nul():
    raw = "".join(chr(c) for c in range(0, 0x110000, 7))
    cleaned = clean_text(raw)
    cleaned.encode("utf-8")  # no lone surrogate left
    assert "\x00" not in cleaned


def test_none_stays_none():
    assert clean_optional(None) is None
    assert clean_optional("a\x00") == "a"
