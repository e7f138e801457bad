"""Offices, phones and hours of a city, with "open now" in the city's local time."""

from __future__ import annotations

from datetime import date, datetime

from reference.directory import City
from reference.hours import WeeklyHours
from dialogs import formatting, payloads
from dialogs.events import CityRemembered, Event
from dialogs.responder import Responder
from dialogs.forms import answered_aside
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills import follow_up
from dialogs.skills.ask_city import ask_city_then
from dialogs.timeexpr import parse_date
from dialogs.turn import Turn

router = SkillRouter("offices")
# «а в Уфе?», «а в воскресенье?» after office hours: the same answer for that city, day.
follow_up.continued_by("office_hours", "city", "day")
# Asked in the middle of a form: answered when the city is known (asking it would
# start a form of its own).
answered_aside("office_hours", when=lambda turn: turn.known_city() is not None)


def open_state(hours: WeeklyHours, local_now: datetime, say: Responder) -> str:
    """«сейчас открыто до 20:00» / «сейчас закрыто, откроется завтра в 09:00»."""
    if hours.around_the_clock:
        return say.text("offices.around_the_clock")
    if hours.is_open(local_now):
        return say.text("offices.open_until", until=formatting.clock(hours.closes_at(local_now)))
    opening = hours.next_opening(local_now)
    return say.text("offices.closed_opens", opens=formatting.when(opening, local_now))


def describe_city(city: City, turn: Turn, say: Responder) -> str:
    directory = turn.services.directory
    local_now = city.local_now(turn.now)
    subscriber = directory.department("subscriber")
    tech = directory.department("tech")
    return say.text(
        "offices.city",
        city=city.name,
        local_time=formatting.clock(local_now),
        address=city.office,
        office_hours=city.office_hours.describe(),
        office_state=open_state(city.office_hours, local_now, say),
        phones=", ".join(city.phones),
        subscriber_title=subscriber.title,
        subscriber_hours=subscriber.hours.describe(),
        subscriber_state=open_state(subscriber.hours, local_now, say),
        tech_title=tech.title,
        tech_state=open_state(tech.hours, local_now, say),
        service_phone=directory.service_line.phone,
        service_hours=directory.service_line.hours.describe(),
    )


def hours_on(hours: WeeklyHours, day: date, say: Responder) -> str:
    """«09:00–18:00» or «выходной» on that date."""
    if hours.around_the_clock:
        return say.text("offices.around_the_clock")
    span = hours.days[day.weekday()]
    return say.text("offices.day_closed") if span is None else f"{span[0]:%H:%M}–{span[1]:%H:%M}"


def describe_city_on(city: City, day: date, turn: Turn, say: Responder) -> str:
    """The hours of one day («а в воскресенье?»), on the city's calendar."""
    directory = turn.services.directory
    subscriber, tech = directory.department("subscriber"), directory.department("tech")
    return say.text(
        "offices.city_on_day",
        city=city.name,
        day=f"{formatting.WEEKDAYS_NOMINATIVE[day.weekday()]}, {formatting.day_short(day)}",
        address=city.office,
        office=hours_on(city.office_hours, day, say),
        subscriber_title=subscriber.title,
        subscriber=hours_on(subscriber.hours, day, say),
        tech_title=tech.title,
        tech=hours_on(tech.hours, day, say),
        service_phone=directory.service_line.phone,
        service=hours_on(directory.service_line.hours, day, say),
    )


def day_asked(turn: Turn, city: City) -> date | None:
    """The day asked about, when it is not today («а в воскресенье?», «часы работы
    в субботу»): read on the city's calendar. None: today, or no day named."""
    today = city.local_now(turn.now).date()
    named = turn.entity("day")
    if named:
        try:
            day = date.fromisoformat(named)
        except ValueError:
            return None
    else:
        day = parse_date(turn.parse.text, today) if turn.parse.text else None
    return day if day is not None and day != today else None


@router.on(IntentIs("office_hours"))
async def office_hours(turn: Turn, say: Responder) -> list[Event]:
    city = turn.known_city()
    if city is None:
        return await ask_city_then(turn, say)
    day = day_asked(turn, city)
    say.say_text(
        describe_city_on(city, day, turn, say) if day else describe_city(city, turn, say),
        buttons=[
            say.button("buttons.callback", payloads.make("callback")),
            say.button("buttons.other_city", payloads.make("office_hours", city="?")),
            say.button("buttons.menu", payloads.MENU),
        ],
    )
    return [CityRemembered(city.name)]
