"""Russian time expressions → windows on the city's wall clock (dialogs.timeexpr)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from dialogs.timeexpr import parse_date, parse_days, parse_window

MSK, UFA, VVO, TOMSK = (ZoneInfo(z) for z in ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok", "Asia/Tomsk"))
# Wednesday 18 November 2026, 09:00 UTC: 12:00 Moscow, 14:00 Ufa, 16:00 Tomsk, 19:00 Vladivostok.
INSTANT = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)


def at(tz, day, hh, mm=0):
    return datetime(2026, 11, day, hh, mm, tzinfo=tz)


def nxt(tz, month, day, hh, mm=0):
    return datetime(2026, month, day, hh, mm, tzinfo=tz)


WINDOWS = [
    # (phrase, city zone, expected start, expected end) — local wall clock of that zone
    ("завтра после обеда", MSK, at(MSK, 19, 13), at(MSK, 19, 18)),
    ("Завтра после обеда", UFA, at(UFA, 19, 13), at(UFA, 19, 18)),
    ("в пятницу утром", MSK, at(MSK, 20, 8), at(MSK, 20, 12)),
    ("в пятницу утром", VVO, at(VVO, 20, 8), at(VVO, 20, 12)),
    ("после 18", MSK, at(MSK, 18, 18), at(MSK, 18, 23, 59)),
    ("после 18:00", UFA, at(UFA, 18, 18), at(UFA, 18, 23, 59)),
    ("после 18.00", TOMSK, at(TOMSK, 18, 18), at(TOMSK, 18, 23, 59)),
    ("после 6 вечера", MSK, at(MSK, 18, 18), at(MSK, 18, 23, 59)),
    ("после 18 во Владивостоке", VVO, at(VVO, 18, 19), at(VVO, 18, 23, 59)),  # already 19:00 there: from now
    ("в субботу утром", MSK, at(MSK, 21, 8), at(MSK, 21, 12)),
    ("в воскресенье вечером", MSK, at(MSK, 22, 18), at(MSK, 22, 22)),
    ("через час", MSK, at(MSK, 18, 13), at(MSK, 18, 13, 30)),
    ("через час", VVO, at(VVO, 18, 20), at(VVO, 18, 20, 30)),
    ("через 2 часа", UFA, at(UFA, 18, 16), at(UFA, 18, 16, 30)),
    ("через два часа", MSK, at(MSK, 18, 14), at(MSK, 18, 14, 30)),
    ("через 30 минут", MSK, at(MSK, 18, 12, 30), at(MSK, 18, 13)),
    ("через полчаса", MSK, at(MSK, 18, 12, 30), at(MSK, 18, 13)),
    ("сейчас", MSK, at(MSK, 18, 12), at(MSK, 18, 13)),
    ("как можно скорее", UFA, at(UFA, 18, 14), at(UFA, 18, 15)),
    ("утром", MSK, at(MSK, 19, 8), at(MSK, 19, 12)),  # the morning is over: tomorrow's
    ("вечером", MSK, at(MSK, 18, 18), at(MSK, 18, 22)),
    ("сегодня вечером", TOMSK, at(TOMSK, 18, 18), at(TOMSK, 18, 22)),
    ("завтра утром", VVO, at(VVO, 19, 8), at(VVO, 19, 12)),
    ("завтра", MSK, at(MSK, 19, 0), at(MSK, 19, 23, 59)),
    ("послезавтра в 10", MSK, at(MSK, 20, 10), at(MSK, 20, 10, 30)),
    ("завтра в 15:30", UFA, at(UFA, 19, 15, 30), at(UFA, 19, 16)),
    ("в 16", MSK, at(MSK, 18, 16), at(MSK, 18, 16, 30)),
    ("в 10", MSK, at(MSK, 19, 10), at(MSK, 19, 10, 30)),  # 10:00 has passed today
    ("в 5", MSK, at(MSK, 18, 17), at(MSK, 18, 17, 30)),  # a call «в 5» is five in the afternoon
    ("в 3 часа дня", MSK, at(MSK, 18, 15), at(MSK, 18, 15, 30)),
    ("к 17:00", MSK, at(MSK, 18, 17), at(MSK, 18, 17, 30)),
    ("16:45", MSK, at(MSK, 18, 16, 45), at(MSK, 18, 17, 15)),
    ("с 14 до 16", MSK, at(MSK, 18, 14), at(MSK, 18, 16)),
    ("между 2 и 4", MSK, at(MSK, 18, 14), at(MSK, 18, 16)),
    ("завтра с 10 до 12", UFA, at(UFA, 19, 10), at(UFA, 19, 12)),
    ("до 20", MSK, at(MSK, 18, 12), at(MSK, 18, 20)),  # from now until 20:00
    ("в понедельник до обеда", MSK, at(MSK, 23, 8), at(MSK, 23, 13)),
    ("во вторник в обед", TOMSK, at(TOMSK, 24, 12), at(TOMSK, 24, 14)),
    ("в четверг днем", MSK, at(MSK, 19, 12), at(MSK, 19, 17)),
    ("в среду вечером", MSK, at(MSK, 18, 18), at(MSK, 18, 22)),  # today is Wednesday
    ("в среду утром", MSK, at(MSK, 25, 8), at(MSK, 25, 12)),  # this morning is over: next Wednesday
    ("1 декабря утром", MSK, nxt(MSK, 12, 1, 8), nxt(MSK, 12, 1, 12)),
    ("5 декабря после 18", VVO, nxt(VVO, 12, 5, 18), nxt(VVO, 12, 5, 23, 59)),
    ("01.12 в 11:00", MSK, nxt(MSK, 12, 1, 11), nxt(MSK, 12, 1, 11, 30)),
    ("через 3 дня", MSK, at(MSK, 21, 0), at(MSK, 21, 23, 59)),
    ("позвоните завтра после обеда пожалуйста", MSK, at(MSK, 19, 13), at(MSK, 19, 18)),
    ("ЗАВТРА ПОСЛЕ 18", UFA, at(UFA, 19, 18), at(UFA, 19, 23, 59)),
]


@pytest.mark.parametrize(("phrase", "tz", "start", "end"), WINDOWS, ids=[f"{p}@{z.key}" for p, z, *_ in WINDOWS])
def test_phrase_becomes_a_window_in_the_city_time_zone(phrase, tz, start, end):
    window = parse_window(phrase, INSTANT.astimezone(tz))
    assert window is not None, phrase
    assert (window.start, window.end) == (start, end)
    assert window.start.utcoffset() == start.utcoffset()


def test_the_table_is_large():
    assert len(WINDOWS) >= 40


@pytest.mark.parametrize("phrase", ["не знаю", "когда удобно вам", "по поводу договора", "", "12345678"])
def test_no_time_named(phrase):
    assert parse_window(phrase, INSTANT.astimezone(MSK)) is None


def test_a_named_day_in_the_past_is_returned_as_such():
    window = parse_window("сегодня утром", INSTANT.astimezone(MSK))
    assert window is not None and window.end <= INSTANT


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("с 1 декабря", date(2026, 12, 1)),
        ("с завтра", date(2026, 11, 19)),
        ("с сегодняшнего дня", date(2026, 11, 18)),
        ("с понедельника", date(2026, 11, 23)),
        ("с пятницы", date(2026, 11, 20)),
        ("с 25.11", date(2026, 11, 25)),
        ("с 5 января", date(2027, 1, 5)),
        ("через неделю", date(2026, 11, 25)),
        ("как-нибудь", None),
        ("31 февраля", None),
    ],
)
def test_dates(phrase, expected):
    assert parse_date(phrase, date(2026, 11, 18)) == expected


@pytest.mark.parametrize(
    ("phrase", "days"),
    [
        ("на 14 дней", 14),
        ("на две недели", 14),
        ("на неделю", 7),
        ("на месяц", 30),
        ("на 2 месяца", 60),
        ("21", 21),
        ("на 10 суток", 10),
        ("с 1 декабря на 3 недели", 21),
        ("с завтра", None),
        ("с понедельника", None),
        ("с сегодняшнего дня", None),
    ],
)
def test_durations(phrase, days):
    assert parse_days(phrase) == days


def test_the_quick_check_never_hides_a_day_the_full_parse_would_find(monkeypatch):
    # Every training sentence of the NLU, and each with a day phrase added: the parse
    # with the quick "may name a day" check equals the parse without it.
    from dialogs.nlu.model import read_examples
    from dialogs import timeexpr

    today = date(2026, 11, 30)
    phrases = ["", " завтра", " послезавтра", " в пятницу", " в ср", " 5 декабря", " 01.12", " через 3 дня",
               " через неделю", " сегодня", " с этого дня", " с понедельника", " в Вс", " сейчас"]
    texts = [text + phrase for text, _ in read_examples() for phrase in phrases]
    quick = [timeexpr.parse_date(text, today) for text in texts]
    monkeypatch.setattr(timeexpr, "_MAY_NAME_A_DAY", re.compile(""))  # matches every text
    assert quick == [timeexpr.parse_date(text, today) for text in texts]
    assert sum(day is not None for day in quick) > len(texts) // 2
