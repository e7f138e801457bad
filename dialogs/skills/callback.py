"""Callback requests: department, city, phone, optional time and topic; queued
durably per (city, department); the subscriber hears the position and when to
expect the call. Also cancelling an open request."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import phonenumbers

from dialogs import formatting, payloads
from dialogs.events import Event
from dialogs.forms import SKIPPED, Form, is_new_request
from dialogs.skills import follow_up
from dialogs.skills.ask_city import CitySlot
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.timeexpr import parse_window
from dialogs.turn import Turn
from dispatcher.schedule import next_opening

router = SkillRouter("callback")
follow_up.continued_by("callback", "department")  # «а из техподдержки?»

CANCEL_WORDS = re.compile(r"\b(отмен\w*|не\s+(нужн|надо)\w*|cancel)\b", re.IGNORECASE)
CONTRACT_PHONE = "contract"
PHONE_LIKE = re.compile(r"[\d\s()+\-.]{3,}")  # the payload value meaning "the phone on my contract"


def normalize_phone(raw: str) -> str | None:
    """Any common Russian notation → E.164, or None if it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, "RU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _optional_text(turn: Turn, requested: bool, *, may_be_a_new_request: bool) -> Any:
    if not requested:
        return None
    if turn.intent == payloads.SKIP:
        return SKIPPED
    if may_be_a_new_request and is_new_request(turn):
        return None
    return turn.text[:300] or None


class PhoneSlot:
    """The ``phone`` slot: the channel's vouched number, a typed one, or the contract's."""

    def extract_phone(self, turn: Turn, requested: bool) -> Any:
        if turn.inbound.vouched_phone:
            return turn.inbound.vouched_phone
        if turn.entity("phone"):
            return turn.entity("phone")
        if requested and PHONE_LIKE.fullmatch(turn.text):
            return turn.text  # an attempt at a number: validated (and explained) below
        return (turn.text or None) if requested and not is_new_request(turn) else None

    async def validate_phone(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        if value == CONTRACT_PHONE and turn.conversation.is_verified:
            card = await turn.services.billing.find_account(turn.conversation.verified_account)
            if card is not None:
                return {"phone": card.phone}
        phone = normalize_phone(value) if value != CONTRACT_PHONE else None
        if phone is None:
            say.say("callback.phone_invalid")
            return None
        return {"phone": phone}

    async def ask_phone(self, turn: Turn, say: Responder, slots: dict) -> None:
        if turn.conversation.is_verified:
            card = await turn.services.billing.find_account(turn.conversation.verified_account)
            if card is not None:
                say.say(
                    "callback.ask_phone_contract",
                    phone=formatting.masked_phone(card.phone),
                    ask_phone=True,
                    buttons=[say.button("buttons.contract_phone", payloads.make(payloads.INFORM, phone=CONTRACT_PHONE))],
                )
                return
        say.say("callback.ask_phone", ask_phone=True, buttons=[say.button("buttons.cancel", payloads.CANCEL)])


class CallbackForm(PhoneSlot, CitySlot, Form):
    name = "callback"
    slots = ("department", "city", "phone", "preferred_time", "topic")

    # -- department -------------------------------------------------------------------------
    async def validate_department(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        if value not in turn.services.directory.departments:
            say.say("callback.department_unknown")
            return None
        return {"department": value}

    async def ask_department(self, turn: Turn, say: Responder, slots: dict) -> None:
        directory = turn.services.directory
        say.say(
            "callback.ask_department",
            buttons=[
                say.button("buttons.department", payloads.make(payloads.INFORM, department=d.id), title=d.title)
                for d in directory.departments.values()
            ]
            + [say.button("buttons.cancel", payloads.CANCEL)],
        )

    # -- preferred time and topic (optional: a "skip" button) -----------------------------------------
    def extract_preferred_time(self, turn: Turn, requested: bool) -> Any:
        return _optional_text(turn, requested, may_be_a_new_request=True)

    async def validate_preferred_time(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        if value == SKIPPED:
            return {"preferred_time": SKIPPED}
        call_from = preferred_call_time(value, slots["city"], slots["department"], turn, say)
        if call_from is None:
            return None
        return {"preferred_time": value, "call_from": call_from.isoformat()}

    async def ask_preferred_time(self, turn: Turn, say: Responder, slots: dict) -> None:
        say.say("callback.ask_time", buttons=[say.button("buttons.asap", payloads.SKIP)])

    def extract_topic(self, turn: Turn, requested: bool) -> Any:
        # The topic is whatever the subscriber writes, even if it reads like a request
        # of its own («не работает интернет»): that is exactly what the agent needs.
        return _optional_text(turn, requested, may_be_a_new_request=False)

    async def ask_topic(self, turn: Turn, say: Responder, slots: dict) -> None:
        say.say("callback.ask_topic", buttons=[say.button("buttons.skip", payloads.SKIP)])

    # -- queueing ------------------------------------------------------------------------------------------
    async def submit(self, turn: Turn, say: Responder, slots: dict) -> list[Event]:
        services = turn.services
        if slots.get("preferred_time") and not slots.get("call_from"):
            # Said with the request («перезвоните завтра после обеда»), before the city
            # and department were known: read on their clock now.
            call_from = preferred_call_time(slots["preferred_time"], slots["city"], slots["department"], turn, say)
            slots = {**slots, "call_from": call_from.isoformat() if call_from else None}
        ticket = await services.callbacks.request(
            slots["city"],
            slots["department"],
            slots["phone"],
            account_number=turn.conversation.verified_account,
            conversation_key=turn.conversation.key,
            preferred_time=slots.get("preferred_time") or None,
            topic=slots.get("topic") or None,
            not_before=datetime.fromisoformat(slots["call_from"]) if slots.get("call_from") else None,
            now=turn.now,
        )
        say_ticket(ticket, turn, say, preferred=bool(slots.get("call_from")))
        return []


def preferred_call_time(text: str, city_name: str, department: str, turn: Turn, say: Responder) -> datetime | None:
    """When to call, read from «завтра после обеда» on the city's clock and moved into
    the department's hours; None after telling the subscriber why not."""
    directory = turn.services.directory
    city = directory.city(city_name)
    if city is None:
        return None
    local_now = city.local_now(turn.now)
    window = parse_window(text, local_now)
    if window is None:
        say.say("callback.time_not_understood")
        return None
    if window.end <= local_now:
        say.say("callback.time_past")
        return None
    hours = directory.department(department).hours
    due = next_opening(hours, city.tz, window.start.astimezone(timezone.utc))
    if due >= window.end.astimezone(timezone.utc):
        # The department is closed all through the window: the earliest time after it.
        say.say(
            "callback.time_outside_hours",
            department=directory.department(department).title,
            hours=hours.describe(),
            when=formatting.when(due.astimezone(city.tz), local_now),
        )
    return due


def say_ticket(ticket: Any, turn: Turn, say: Responder, *, preferred: bool = False) -> None:
    directory = turn.services.directory
    city = directory.city(ticket.city)
    local_now = city.local_now(turn.now)
    expected = ticket.expected_at.astimezone(city.tz)
    values = dict(
        id=ticket.id,
        department=directory.department(ticket.department).title,
        city=ticket.city,
        phone=formatting.phone(ticket.phone),
        position=ticket.position,
        when=formatting.when(expected, local_now),
    )
    cancel = say.button("buttons.cancel_callback", payloads.make("callback", action="cancel", id=str(ticket.id)))
    if ticket.already_queued:
        key = "callback.already_queued"
    elif preferred and ticket.scheduled:
        key = "callback.at_preferred_time"
    elif ticket.scheduled:
        key = "callback.scheduled"
    else:
        key = "callback.queued"
    say.say(key, buttons=[cancel, say.button("buttons.menu", payloads.MENU)], **values)


CALLBACK_FORM = CallbackForm()


def _wants_cancel(turn: Turn) -> bool:
    return turn.entity("action") == "cancel" or bool(CANCEL_WORDS.search(turn.text))


@router.on(IntentIs("callback"), _wants_cancel)
async def cancel_callback(turn: Turn, say: Responder) -> list[Event]:
    queue = turn.services.callbacks
    request_id = turn.entity("id")
    if request_id and request_id.isdigit():
        mine = {t.id for t in await queue.open_for_conversation(turn.conversation.key, now=turn.now)}
        cancelled = int(request_id) in mine and await queue.cancel(int(request_id), now=turn.now)
    else:
        cancelled = await queue.cancel(conversation_key=turn.conversation.key, now=turn.now)
    say.say("callback.cancelled" if cancelled else "callback.nothing_to_cancel",
            buttons=[say.button("buttons.menu", payloads.MENU)])
    return []


@router.on(IntentIs("callback"))
async def order_callback(turn: Turn, say: Responder) -> list[Event]:
    initial: dict[str, Any] = {}
    if turn.known_department():
        initial["department"] = turn.known_department()
    city = turn.known_city()
    if city is not None:
        initial["city"] = city.name
    if turn.parse.text and parse_window(turn.parse.text, turn.now) is not None:
        initial["preferred_time"] = turn.parse.text[:300]  # read on the city's clock at submit
    return await CALLBACK_FORM.start(turn, say, initial)
