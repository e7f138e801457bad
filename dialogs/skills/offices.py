"""Offices, phones and hours of a city, with "open now" in the city's local time."""

from __future__ import annotations

from datetime import datetime

from reference.directory import City
from reference.hours import WeeklyHours
from dialogs import formatting, payloads
from dialogs.events import CityRemembered, Event
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills.ask_city import ask_city_then
from dialogs.turn import Turn

router = SkillRouter("offices")


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


@router.on(IntentIs("office_hours"))
async def office_hours(turn: Turn, say: Responder) -> list[Event]:
    city = turn.known_city()
    if city is None:
        return await ask_city_then(turn, say)
    say.say_text(
        describe_city(city, turn, say),
        buttons=[
            say.button("buttons.callback", payloads.make("callback")),
            say.button("buttons.other_city", payloads.make("office_hours", city="?")),
            say.button("buttons.menu", payloads.MENU),
        ],
    )
    return [CityRemembered(city.name)]
