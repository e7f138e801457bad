"""Russian formatting of money, dates and times for reply texts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)
WEEKDAYS_NOMINATIVE = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")
WEEKDAYS_ACCUSATIVE = ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу", "в воскресенье")


def money(amount: Decimal | int | float) -> str:
    """``Decimal("1200.5")`` → «1 200,50 ₽»; whole amounts without kopecks: «450 ₽»."""
    value = Decimal(amount).quantize(Decimal("0.01"))
    sign = "−" if value < 0 else ""
    value = abs(value)
    whole, _, cents = f"{value:.2f}".partition(".")
    groups = f"{int(whole):,}".replace(",", "\u00a0")
    return f"{sign}{groups}\u00a0₽" if cents == "00" else f"{sign}{groups},{cents}\u00a0₽"


def day(d: date) -> str:
    return f"{d.day} {MONTHS_GENITIVE[d.month - 1]} {d.year}"


def day_short(d: date) -> str:
    return f"{d.day} {MONTHS_GENITIVE[d.month - 1]}"


def clock(t: datetime) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"  # strftime would cost 10 times as much, several times a reply


def when(moment: datetime, now: datetime) -> str:
    """A local moment relative to local ``now``: «сегодня в 14:20», «завтра в 09:00»,
    «в понедельник в 09:00», «5 декабря в 09:00»."""
    delta = (moment.date() - now.date()).days
    if delta == 0:
        prefix = "сегодня"
    elif delta == 1:
        prefix = "завтра"
    elif 1 < delta < 7:
        prefix = WEEKDAYS_ACCUSATIVE[moment.weekday()]
    else:
        prefix = day_short(moment.date())
    return f"{prefix} в {clock(moment)}"


def masked_phone(e164: str) -> str:
    """+79000000002 → «+7 900 ***-**-02»."""
    digits = e164.lstrip("+")
    if len(digits) != 11:
        return "***" + digits[-2:]
    return f"+{digits[0]} {digits[1:4]} ***-**-{digits[-2:]}"


def phone(e164: str) -> str:
    digits = e164.lstrip("+")
    if len(digits) != 11:
        return e164
    return f"+{digits[0]} {digits[1:4]} {digits[4:7]}-{digits[7:9]}-{digits[9:]}"


def bullets(items: list[str] | tuple[str, ...]) -> str:
    return "\n".join(f"• {item}" for item in items)


def numbered(items: list[str] | tuple[str, ...]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


# Beyond this a count of minutes means little; the clock time alone is said.
MINUTES_SAID_UP_TO = timedelta(hours=2)


def expected_answer(render, expected_at: datetime, now: datetime, tz) -> str:
    """When an agent is expected to answer, in the city's local time (``tz``): the
    ``handoff.eta_*`` text of the catalog ``render`` reads (the bot's reply and the
    console's notices say it the same way)."""
    wait = expected_at - now
    if wait < timedelta(minutes=1):
        return render("handoff.eta_next")
    local_now, local_expected = now.astimezone(tz), expected_at.astimezone(tz)
    at = when(local_expected, local_now)
    if wait <= MINUTES_SAID_UP_TO:
        minutes = -(-wait // timedelta(minutes=1))  # rounded up: never promise sooner than estimated
        return render("handoff.eta_minutes", minutes=minutes, when=at)
    return render("handoff.eta_at", when=at)
