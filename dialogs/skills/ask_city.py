"""A one-question form: which city? Used by skills that need a city nobody named."""

from __future__ import annotations

from typing import Any

from dialogs import payloads
from dialogs.events import CityRemembered, Event, PendingIntentSet
from dialogs.forms import Form, is_new_request
from dialogs.responder import Responder
from dialogs.turn import Turn


class CitySlot:
    """The ``city`` slot, shared by every form that asks for a city."""

    def extract_city(self, turn: Turn, requested: bool) -> Any:
        if turn.entity("city"):
            return turn.entity("city")
        if requested and turn.text and not is_new_request(turn):
            return turn.text  # validated (and rejected with a hint) below
        return None

    async def validate_city(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        city = turn.services.directory.city(value)
        if city is None:
            say.say("city.unknown")
            return None
        return {"city": city.name}

    async def ask_city(self, turn: Turn, say: Responder, slots: dict) -> None:
        say.say(
            "city.ask",
            buttons=[
                say.button("buttons.city", payloads.make(payloads.INFORM, city=c.name), city=c.name)
                for c in turn.services.directory.cities
            ],
        )



class AskCityForm(CitySlot, Form):
    name = "ask_city"
    slots = ("city",)

    async def submit(self, turn: Turn, say: Responder, slots: dict) -> list[Event]:
        return [CityRemembered(slots["city"])]


ASK_CITY_FORM = AskCityForm()


async def ask_city_then(turn: Turn, say: Responder) -> list[Event]:
    """Ask for the city, then come back to what the subscriber asked."""
    entities = {k: v for k, v in turn.parse.entities.items() if k != "city"}  # the answer replaces it
    return [PendingIntentSet(turn.intent, entities)] + await ASK_CITY_FORM.start(turn, say)
