"""Form: asks for the first missing slot, extracts and validates answers, fills what
the subscriber volunteered, submits once complete, aborts cleanly."""

from __future__ import annotations

import re

from dialogs.conversation import Conversation
from dialogs.events import (
    CityRemembered,
    FormActivated,
    FormDeactivated,
    FormSubmitted,
    PendingIntentSet,
    SlotRequested,
    SlotSet,
)
from dialogs.forms import Form, FormAborted
from dialogs.nlu.base import ParseResult
from tests.dialogs.dialog_doubles import texts_of

SIZES = re.compile(r"[SMLX]+")


class DeliveryForm(Form):
    """A toy form: a size (validated), an address (one aborts), an optional note."""

    name = "delivery"
    slots = ("size", "address")
    optional_slots = ("note",)

    def extract_size(self, turn, requested):
        if turn.entity("size"):
            return turn.entity("size")
        return turn.text if requested and SIZES.fullmatch(turn.text) else None

    async def validate_size(self, value, turn, say, slots):
        if value not in ("S", "M", "L"):
            say.say_text("Размер бывает S, M или L.")
            return None
        return {"size": value}

    async def validate_address(self, value, turn, say, slots):
        if value == "Луна":
            say.say_text("Туда не возим.")
            raise FormAborted
        return {"address": value}

    def extract_address(self, turn, requested):
        return turn.entity("address") or (turn.text or None if requested else None)

    async def ask_size(self, turn, say, slots):
        say.say_text("Какой размер?")

    async def ask_address(self, turn, say, slots):
        say.say_text("Куда везти?")

    async def submit(self, turn, say, slots):
        say.say_text(f"Везём {slots['size']}: {slots['address']}")
        return [CityRemembered(slots["address"])]


FORM = DeliveryForm()


def waiting(slot: str, **slots) -> Conversation:
    return Conversation(key="webchat:u1", active_form=FORM.name, form_slots=slots, requested_slot=slot)


def typed(text: str, intent: str = "out_of_scope", confidence: float = 0.1, **entities) -> ParseResult:
    return ParseResult(text=text, intent=intent, confidence=confidence, entities=entities)


async def test_start_asks_for_the_first_missing_slot(make_turn, say):
    events = await FORM.start(make_turn("хочу доставку", parse=typed("хочу доставку", "order", 0.9)), say)
    assert events == [FormActivated("delivery", {}), SlotRequested("size")]
    assert texts_of(say) == ["Какой размер?"]


async def test_start_fills_what_was_given_and_submits_when_complete(make_turn, say):
    turn = make_turn("M на Ленина", parse=typed("M на Ленина", "order", 0.9, address="Ленина 1"))
    events = await FORM.start(turn, say, {"size": "M"})
    assert events == [
        FormActivated("delivery", {"size": "M"}),
        SlotSet("address", "Ленина 1"),
        FormDeactivated(),
        CityRemembered("Ленина 1"),
        FormSubmitted("delivery"),
    ]
    assert texts_of(say) == ["Везём M: Ленина 1"]


async def test_an_answer_that_does_not_validate_is_explained_and_asked_again(make_turn, say):
    events = await FORM.resume(make_turn("XL", conversation=waiting("size")), say)
    assert events == [SlotRequested("size")]
    assert texts_of(say) == ["Размер бывает S, M или L.", "Какой размер?"]


async def test_a_valid_answer_is_set_and_the_next_slot_asked(make_turn, say):
    events = await FORM.resume(make_turn("L", conversation=waiting("size")), say)
    assert events == [SlotSet("size", "L"), SlotRequested("address")]
    assert texts_of(say) == ["Куда везти?"]


async def test_a_volunteered_value_that_does_not_validate_is_asked_for_later_silently(make_turn, say):
    events = await FORM.start(make_turn("XXL", parse=typed("XXL", "order", 0.9, size="XXL")), say)
    assert events == [FormActivated("delivery", {}), SlotRequested("size")]
    assert texts_of(say) == ["Какой размер?"]  # no complaint about a value nobody asked for


async def test_a_pressed_value_that_does_not_validate_is_explained(make_turn, say):
    events = await FORM.start(make_turn(payload="inform?size=XXL"), say)
    assert events == [FormActivated("delivery", {}), SlotRequested("size")]
    assert texts_of(say) == ["Размер бывает S, M или L.", "Какой размер?"]


async def test_a_validator_aborts_the_form(make_turn, say):
    events = await FORM.resume(make_turn("Луна", conversation=waiting("address", size="S")), say)
    assert events == [FormDeactivated(), PendingIntentSet(None)]
    assert texts_of(say) == ["Туда не возим."]


async def test_a_turn_that_answers_nothing_is_not_taken(make_turn, say):
    assert await FORM.resume(make_turn("привет", conversation=waiting("size")), say) is None
    assert say.replies == []


async def test_a_button_may_answer_another_slot_of_the_form(make_turn, say):
    events = await FORM.resume(make_turn(payload="inform?note=позвонить", conversation=waiting("size")), say)
    assert events == [SlotSet("note", "позвонить"), SlotRequested("size")]
    assert texts_of(say) == ["Какой размер?"]


async def test_not_understood_says_so_and_asks_again(make_turn, say):
    await FORM.not_understood("address", make_turn("???"), say, {"size": "S"})
    assert texts_of(say) == ["Кажется, это не ответ на мой вопрос. Давайте ещё раз — или нажмите «Отмена».", "Куда везти?"]


def test_required_slots_default_to_the_declared_ones(make_turn):
    assert FORM.required_slots(make_turn("x"), {}) == ["size", "address"]
