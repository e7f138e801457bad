"""Requests for the subscriber department that are not "call me" but something to
do: connect a new address or service, change the tariff, terminate the contract.
Each is a callback in the subscriber department's queue of the city, with a topic
of its own so the agent knows what the call is about before dialling."""

from __future__ import annotations

from typing import Any

from dialogs import payloads
from dialogs.events import Event
from dialogs.forms import SKIPPED, Form, is_new_request
from dialogs.responder import Responder
from dialogs.skills.ask_city import CitySlot
from dialogs.skills.callback import PhoneSlot, say_ticket
from dialogs.turn import Turn

DEPARTMENT = "subscriber"
# kind → the slots asked after the city (the phone is always last)
KIND_SLOTS: dict[str, tuple[str, ...]] = {
    "connection": ("name",),
    "tariff": ("tariff",),
    "termination": (),
}
NAME_MAX = 100
DONE_TEXTS = {
    "connection": "request.done_connection",
    "tariff": "request.done_tariff",
    "termination": "request.done_termination",
}


class SubscriberRequestForm(PhoneSlot, CitySlot, Form):
    name = "subscriber_request"
    slots = ("kind", "city", "name", "tariff", "phone")

    def required_slots(self, turn: Turn, slots: dict[str, Any]) -> list[str]:
        return ["kind", "city", *KIND_SLOTS.get(slots.get("kind", ""), ()), "phone"]

    def extract_kind(self, turn: Turn, requested: bool) -> Any:
        return None  # always given when the form starts

    # -- name (a person, or a company) ------------------------------------------------------
    def extract_name(self, turn: Turn, requested: bool) -> Any:
        if not requested or not turn.text or is_new_request(turn):
            return None
        return turn.text

    async def validate_name(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        name = " ".join(value.split())
        if not any(ch.isalpha() for ch in name) or len(name) > NAME_MAX:
            say.say("request.name_invalid")
            return None
        return {"name": name}

    async def ask_name(self, turn: Turn, say: Responder, slots: dict) -> None:
        say.say("request.ask_name", buttons=[say.button("buttons.cancel", payloads.CANCEL)])

    # -- the tariff wanted ----------------------------------------------------------------------
    def extract_tariff(self, turn: Turn, requested: bool) -> Any:
        if not requested:
            return None
        if turn.intent == payloads.SKIP:
            return SKIPPED
        return turn.text[:120] if turn.text and not is_new_request(turn) else None

    async def ask_tariff(self, turn: Turn, say: Responder, slots: dict) -> None:
        say.say("request.ask_tariff", buttons=[say.button("buttons.tariff_consult", payloads.SKIP)])

    # -- queueing -------------------------------------------------------------------------------
    async def submit(self, turn: Turn, say: Responder, slots: dict) -> list[Event]:
        account = turn.conversation.verified_account
        topic = topic_of(slots, account, say)
        ticket = await turn.services.callbacks.request(
            slots["city"],
            DEPARTMENT,
            slots["phone"],
            account_number=account,
            conversation_key=turn.conversation.key,
            topic=topic,
            now=turn.now,
        )
        say.say(DONE_TEXTS[slots["kind"]], topic=topic)
        say_ticket(ticket, turn, say)
        return []


def topic_of(slots: dict, account: str | None, say: Responder) -> str:
    kind = slots["kind"]
    if kind == "connection":
        topic = say.text("request.topic_connection", name=slots["name"])
    elif kind == "tariff":
        wanted = slots.get("tariff") or say.text("request.tariff_unspecified")
        topic = say.text("request.topic_tariff", tariff=wanted)
    else:
        topic = say.text("request.topic_termination")
    if account:
        topic += say.text("request.topic_account", account=account)
    return topic


SUBSCRIBER_REQUEST_FORM = SubscriberRequestForm()


async def start_request(turn: Turn, say: Responder, kind: str, **known: str) -> list[Event]:
    """Start the request with what is known already: the city named now or earlier
    (a verified subscriber's is their account's)."""
    initial: dict[str, Any] = {"kind": kind, **known}
    city = turn.known_city()
    if city is None and turn.conversation.is_verified:
        card = await turn.services.billing.find_account(turn.conversation.verified_account)
        city = turn.services.directory.city(card.city) if card else None
    if city is not None:
        initial["city"] = city.name
    return await SUBSCRIBER_REQUEST_FORM.start(turn, say, initial)
