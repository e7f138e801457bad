"""Russian time expressions a subscriber writes: «завтра после обеда», «в пятницу
утром», «после 18», «через час», «с 1 декабря», «на две недели».

Everything is read on the wall clock of the subscriber's city: the caller passes
``local_now`` (an aware datetime in the city's time zone) and gets aware datetimes in
the same zone back. Checking a window against a department's hours is the caller's
job (``dispatcher.schedule``); this module only reads the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

# Parts of the day, as people mean them when they ask to be called.
DAY_PARTS: dict[str, tuple[time, time]] = {
    "morning": (time(8, 0), time(12, 0)),
    "before_lunch": (time(8, 0), time(13, 0)),
    "lunch": (time(12, 0), time(14, 0)),
    "afternoon": (time(13, 0), time(18, 0)),
    "day": (time(12, 0), time(17, 0)),
    "evening": (time(18, 0), time(22, 0)),
}
END_OF_DAY = time(23, 59)

_WEEKDAYS = (
    r"понедельник\w*|пн",
    r"вторник\w*|вт",
    r"сред[аыуе]|ср",
    r"четверг\w*|чт",
    r"пятниц[аыуе]|пт",
    r"суббот[аыуе]|сб",
    r"воскресень[еяю]|вс",
)
_WEEKDAY = [re.compile(rf"\b(?:{pattern})\b") for pattern in _WEEKDAYS]
_MONTHS = (
    "январ", "феврал", "март", "апрел", "ма[йя]", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр",
)
_MONTH_DATE = re.compile(r"\b(\d{1,2})\s+(" + "|".join(rf"{m}\w*" for m in _MONTHS) + r")")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})(?:[./](\d{2,4}))?\b")
# Anything ``parse_date`` could read as a day. Most messages name none («когда работает
# офис?»): one search of this instead of a dozen of the patterns below (12 µs → 3 µs).
_MAY_NAME_A_DAY = re.compile(
    r"\d|\b(?:послезавтра|завтра|сегодня|сейчас|немедленно|с этого дня|через)|\b(?:" + "|".join(_WEEKDAYS) + r")\b"
)
_SMALL_NUMBERS = {
    "один": 1, "одну": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6,
    "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "полчаса": 0,
}
_HOUR = r"(\d{1,2})(?:[:.\-](\d{2}))?(?:\s*(?:ч|час\w*))?(?:\s+(утра|дня|вечера|ночи))?"
_AFTER = re.compile(rf"\b(?:после|позже|с)\s+{_HOUR}(?!\s*(?:до|по|-)\s*\d)")
_BEFORE = re.compile(rf"\b(?:до|не позже|не позднее)\s+{_HOUR}")
_BETWEEN = re.compile(rf"\b(?:с|между)\s+{_HOUR}\s*(?:до|и|по|-)\s*{_HOUR}")
_AT = re.compile(rf"\b(?:в|к|около|на)\s+{_HOUR}")
_BARE_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")
_IN = re.compile(r"\bчерез\s+(?:(\d+|" + "|".join(_SMALL_NUMBERS) + r")\s+)?(час\w*|минут\w*|полчаса|пол часа)")


@dataclass(frozen=True)
class Window:
    """From ``start`` to ``end`` on the city's wall clock (aware datetimes)."""

    start: datetime
    end: datetime


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("ё", "е")).strip()


def _hour(hour: str, minute: str | None, suffix: str | None) -> time | None:
    h, m = int(hour), int(minute or 0)
    if suffix is None and 1 <= h < 8:
        h += 12  # nobody asks for a call at 5 a.m.: «в 5», «после 6» are afternoon hours
    if suffix in ("дня", "вечера") and h < 12:
        h += 12
    if suffix == "ночи" and h == 12:
        h = 0
    if h == 24 and m == 0:
        return END_OF_DAY
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return time(h, m)


def _number(word: str | None) -> int:
    if word is None:
        return 1
    return int(word) if word.isdigit() else _SMALL_NUMBERS[word]


def parse_date(text: str, today: date) -> date | None:
    """The day named in ``text``: «сегодня», «завтра», «послезавтра», «в пятницу» /
    «с понедельника» (the next such day, today included), «1 декабря», «01.12»,
    «через 3 дня», «через неделю». None when no day is named."""
    t = _normal(text)
    if not _MAY_NAME_A_DAY.search(t):
        return None
    if re.search(r"\bпослезавтра\b", t):
        return today + timedelta(days=2)
    if re.search(r"\bзавтра\w*\b", t):
        return today + timedelta(days=1)
    if re.search(r"\bсегодня\w*\b|\bсейчас\b|\bнемедленно\b|\bс этого дня\b", t):
        return today
    later = re.search(r"\bчерез\s+(?:(\d+|" + "|".join(_SMALL_NUMBERS) + r")\s+)?(дн\w*|день|недел\w*)", t)
    if later:
        count = _number(later.group(1))
        return today + timedelta(days=count * (7 if later.group(2).startswith("недел") else 1))
    match = _MONTH_DATE.search(t)
    if match:
        month = next(i for i, m in enumerate(_MONTHS, 1) if re.match(m, match.group(2)))
        return _next_date(today, int(match.group(1)), month)
    match = _NUMERIC_DATE.search(t)
    if match and not _looks_like_clock(t, match):
        day, month = int(match.group(1)), int(match.group(2))
        year = match.group(3)
        if year:
            y = int(year) + (2000 if len(year) == 2 else 0)
            try:
                return date(y, month, day)
            except ValueError:
                return None
        return _next_date(today, day, month)
    for weekday, pattern in enumerate(_WEEKDAY):
        if pattern.search(t):
            return today + timedelta(days=(weekday - today.weekday()) % 7)
    return None


def _looks_like_clock(text: str, match: re.Match) -> bool:
    """«в 18.30» is a time, «18.12» after «с» a date: a clock follows в/к/после/до."""
    before = text[: match.start()].rstrip().split(" ")[-1:] or [""]
    return before[0] in ("в", "к", "после", "до", "около") or int(match.group(2)) > 12


def _next_date(today: date, day: int, month: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def parse_days(text: str) -> int | None:
    """A duration in days: «на 14 дней», «на две недели», «на месяц», «на 2 месяца»,
    or a bare number («14»). None when there is none."""
    t = _normal(text)
    match = re.search(r"(?:\b(\d+|" + "|".join(_SMALL_NUMBERS) + r")\s+)?\b(дн\w*|день|сут\w*|недел\w*|месяц\w*)", t)
    # «на неделю», «на месяц» need no number; a bare «дня» («с сегодняшнего дня») is no duration.
    counted = match is not None and (match.group(1) is not None or match.group(2).startswith(("недел", "месяц")))
    if match and counted and not re.search(r"\bчерез\s+$", t[: match.start()]):
        count = _number(match.group(1))
        unit = match.group(2)
        if unit.startswith("недел"):
            return count * 7
        if unit.startswith("месяц"):
            return count * 30
        return count
    if re.search(r"\bполмесяца\b", t):
        return 15
    bare = re.fullmatch(r"(?:на\s+)?(\d{1,3})", t)
    return int(bare.group(1)) if bare else None


def parse_window(text: str, local_now: datetime) -> Window | None:
    """When the subscriber wants the call, as a window on the city's wall clock.

    A day without a time is the whole day; a time without a day is today, or
    tomorrow when that time has already passed today. None when ``text`` names no
    time at all (the caller asks again).
    """
    t = _normal(text)
    tz = local_now.tzinfo
    today = local_now.date()

    later = _IN.search(t)
    if later:
        unit = later.group(2)
        if unit in ("полчаса", "пол часа") or later.group(1) == "полчаса":
            delta = timedelta(minutes=30)
        elif unit.startswith("час"):
            delta = timedelta(hours=_number(later.group(1)))
        else:
            delta = timedelta(minutes=_number(later.group(1)))
        start = local_now + delta
        return Window(start, start + timedelta(minutes=30))
    if re.search(r"\b(?:сейчас|прямо сейчас|немедленно|срочно|как можно скорее|поскорее|asap)\b", t):
        return Window(local_now, local_now + timedelta(hours=1))

    day = parse_date(t, today)
    span = _time_span(t)
    if day is None and span is None:
        return None
    if span is None:
        start_time, end_time = time(0, 0), END_OF_DAY
    else:
        start_time, end_time = span
    on = day or today
    start = datetime.combine(on, start_time, tzinfo=tz)
    end = datetime.combine(on, end_time, tzinfo=tz)
    if end <= local_now:
        if day is None:  # «утром» said in the afternoon: tomorrow morning
            start, end = start + timedelta(days=1), end + timedelta(days=1)
        elif day.weekday() == today.weekday() and day == today and re.search(r"\b(?:в|во)\s", t) and any(
            p.search(t) for p in _WEEKDAY
        ):  # «в среду утром» said on Wednesday afternoon: next Wednesday
            start, end = start + timedelta(days=7), end + timedelta(days=7)
        else:
            return Window(start, end)  # in the past: the caller says so
    return Window(max(start, local_now) if start < local_now < end else start, end)


def _time_span(t: str) -> tuple[time, time] | None:
    match = _BETWEEN.search(t)
    if match:
        first, second = _hour(*match.group(1, 2, 3)), _hour(*match.group(4, 5, 6))
        if first and second:
            if second > first:
                return first, second
    match = _AFTER.search(t)
    if match:
        after = _hour(*match.group(1, 2, 3))
        if after:
            return after, END_OF_DAY
    match = _BEFORE.search(t)
    if match and not re.search(r"\bдо обеда\b", t):
        before = _hour(*match.group(1, 2, 3))
        if before:
            return time(0, 0), before
    for part, pattern in (
        ("afternoon", r"\bпосле обеда\b|\bпосле ланча\b|\bво второй половине дня\b"),
        ("before_lunch", r"\bдо обеда\b|\bв первой половине дня\b"),
        ("lunch", r"\bв обед\w*\b|\bобед\w*\b"),
        ("morning", r"\bутр\w*\b|\bс утра\b"),
        ("evening", r"\bвечер\w*\b"),
        ("day", r"\bдн[её]м\b|\bднем\b|\bв течение дня\b"),
    ):
        if re.search(pattern, t):
            return DAY_PARTS[part]
    match = _AT.search(t) or _BARE_CLOCK.search(t)
    if match:
        groups = match.groups()
        at = _hour(groups[0], groups[1], groups[2] if len(groups) > 2 else None)
        if at:
            end = (datetime.combine(date.min, at) + timedelta(minutes=30)).time()
            return at, end if end > at else END_OF_DAY
    return None
