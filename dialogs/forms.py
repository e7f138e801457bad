"""Forms: collect several slots over several turns, then act (rasa-sdk's FormAction).

A form names its slots; for each slot it may define ``extract_<slot>`` (read the value
from the turn), ``validate_<slot>`` (return the slots to set, or None after saying
why the value is wrong) and ``ask_<slot>`` (the question). ``submit`` runs once
every required slot is filled.

``waiting_form`` is the turn policy that feeds a turn to the form waiting for an
answer, answers a question asked aside («где ближайший терминал?» while the account
number is asked) and asks again, or leaves the form when the turn is a new request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from dialogs.events import (
    Event,
    FormActivated,
    FormDeactivated,
    FormSubmitted,
    PendingIntentSet,
    SlotRequested,
    SlotSet,
)
from dialogs.messages import BUTTON
from dialogs.nlu.base import ParseResult
from dialogs.payloads import CONTROL, INFORM
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.router import SkillRouter
from dialogs.turn import Turn

# A value meaning "the subscriber chose to skip this optional slot".
SKIPPED = ""


def is_new_request(turn: Turn, threshold: float = 0.85) -> bool:
    """The text, given where an answer was expected, is clearly a new request
    (e.g. «какой у меня баланс» when asked for a preferred time)."""
    return (
        bool(turn.parse.text)
        and turn.parse.intent not in ("out_of_scope", INFORM, "greet")
        and turn.parse.confidence >= threshold
    )


class Form:
    name: str = ""
    slots: tuple[str, ...] = ()
    # Slots the subscriber may fill but the form never asks for (e.g. "send me an SMS
    # code instead of asking for the password").
    optional_slots: tuple[str, ...] = ()
    # Slots whose raw text is a secret: never parsed by the NLU, redacted in transcripts.
    secret_slots: tuple[str, ...] = ()

    def required_slots(self, turn: Turn, slots: dict[str, Any]) -> list[str]:
        return list(self.slots)

    # -- per-slot hooks (defaults) ---------------------------------------------------------
    def extract(self, slot: str, turn: Turn, requested: bool) -> Any:
        custom = getattr(self, f"extract_{slot}", None)
        if custom is not None:
            return custom(turn, requested)
        return turn.entity(slot)

    async def validate(self, slot: str, value: Any, turn: Turn, say: Responder, slots: dict) -> dict | None:
        custom = getattr(self, f"validate_{slot}", None)
        if custom is None:
            return {slot: value}
        return await custom(value, turn, say, slots)

    async def ask(self, slot: str, turn: Turn, say: Responder, slots: dict) -> None:
        await getattr(self, f"ask_{slot}")(turn, say, slots)

    async def submit(self, turn: Turn, say: Responder, slots: dict) -> list[Event]:
        raise NotImplementedError

    async def not_understood(self, slot: str, turn: Turn, say: Responder, slots: dict) -> None:
        """The answer did not fit the question: say so, then ask again."""
        say.say("form.not_understood")
        await self.ask(slot, turn, say, slots)

    # -- running ---------------------------------------------------------------------------------
    async def start(self, turn: Turn, say: Responder, initial: dict | None = None) -> list[Event]:
        slots = dict(initial or {})
        # A copy: the event records the slots at the start, filling goes on below.
        events: list[Event] = [FormActivated(self.name, dict(slots))]
        return events + await self._advance(turn, say, slots, requested=None)

    async def resume(self, turn: Turn, say: Responder) -> list[Event] | None:
        """Feed this turn to the active form. None: the turn does not answer the form
        (the engine may then treat it as a new request)."""
        slots = dict(turn.conversation.form_slots)
        requested = turn.conversation.requested_slot
        if requested is None:
            return await self._advance(turn, say, slots, requested=None)
        value = self.extract(requested, turn, True)
        if value is None:
            if turn.intent == INFORM and any(
                name in self.slots or name in self.optional_slots for name in turn.parse.entities
            ):
                # A button answered another slot of this form (e.g. "send me an SMS code").
                return await self._advance(turn, say, slots, requested=None)
            return None
        return await self._advance(turn, say, slots, requested=requested, value=value)

    async def _advance(
        self, turn: Turn, say: Responder, slots: dict, *, requested: str | None, value: Any = None
    ) -> list[Event]:
        try:
            return await self._fill(turn, say, slots, requested=requested, value=value)
        except FormAborted:
            return [FormDeactivated(), PendingIntentSet(None)]

    async def _fill(
        self, turn: Turn, say: Responder, slots: dict, *, requested: str | None, value: Any = None
    ) -> list[Event]:
        events: list[Event] = []
        if requested is not None:
            validated = await self.validate(requested, value, turn, say, slots)
            if validated is None:
                await self.ask(requested, turn, say, slots)
                return [SlotRequested(requested)]
            for name, v in validated.items():
                slots[name] = v
                events.append(SlotSet(name, v))
        # Fill other slots the subscriber already gave in the same message.
        for slot in [*self.required_slots(turn, slots), *self.optional_slots]:
            if slot in slots or slot in self.secret_slots:
                continue
            candidate = self.extract(slot, turn, False)
            if candidate is None:
                continue
            # A value volunteered in free text that we did not ask for: if it does not
            # validate, ask for it later instead of complaining now. A button press
            # (INFORM) was deliberate: its answer is shown.
            validated = await self.validate(slot, candidate, turn, say if turn.intent == INFORM else say.muted(), slots)
            if validated:
                for name, v in validated.items():
                    slots[name] = v
                    events.append(SlotSet(name, v))
        missing = [s for s in self.required_slots(turn, slots) if s not in slots]
        if missing:
            await self.ask(missing[0], turn, say, slots)
            events.append(SlotRequested(missing[0]))
            return events
        events.append(FormDeactivated())
        events.extend(await self.submit(turn, say, slots))
        events.append(FormSubmitted(self.name))
        return events


class FormAborted(Exception):
    """Raised by a validator that has told the subscriber why the form cannot go on
    (e.g. an account locked after too many wrong guesses)."""


# -- questions answered aside ---------------------------------------------------------------
# intent → when its skill may answer in the middle of a form (and leave the form as it
# is). Registered by the skills: only those that answer at once, with no form and no
# effect of their own (where to pay, office hours of a known city, the app).
_ASIDE: dict[str, Callable[[Turn], bool]] = {}


def answered_aside(intent: str, when: Callable[[Turn], bool] = lambda turn: True) -> None:
    """Register: a question of ``intent`` asked during a form is answered, and the form
    asks its pending question again."""
    _ASIDE[intent] = when


def is_digression(turn: Turn) -> bool:
    when = _ASIDE.get(turn.intent)
    return when is not None and when(turn)


# -- the turn policy -------------------------------------------------------------------------
waiting_form = SkillRouter("policy: the waiting form")


def form_waiting(turn: Turn) -> bool:
    return turn.form is not None


def pressed_a_request(turn: Turn) -> bool:
    """A button naming a request of its own (not an answer, not menu/cancel). A stale
    or foreign payload reads as ``out_of_scope``: it is no request."""
    return turn.inbound.via == BUTTON and turn.intent not in (*CONTROL, "out_of_scope")


@waiting_form.on(form_waiting)
async def answer_or_leave_the_form(turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event] | None:
    form, conversation = turn.form, turn.conversation
    assert form is not None  # the filter said so
    if not pressed_a_request(turn):
        events = await form.resume(turn, say)
        if events is not None:
            return events
        asked = conversation.requested_slot
        # A question typed aside. (While a secret is awaited nothing was read — the NLU
        # never saw the text —, so none is found; a pressed button is a new request.)
        if asked and asked not in form.secret_slots and ctx.confident(turn.parse) and is_digression(turn):
            return await answer_aside(form, asked, turn, say, ctx)
        if conversation.requested_slot and not ctx.confident(turn.parse):
            # The answer did not fit the question: ask again, the form stays.
            await form.not_understood(conversation.requested_slot, turn, say, dict(conversation.form_slots))
            return []
    # A new request: leave the form, and the next policies answer it. (Cleared on the
    # turn's view now, so skills that start forms of their own see none running.)
    conversation.active_form = None
    ctx.carry(FormDeactivated(), PendingIntentSet(None))
    return None


async def answer_aside(form: Form, asked: str, turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event]:
    """Answer the question asked aside, then the form's pending question again."""
    events = await ctx.answer(turn, say) or []
    say.say("form.back_to_question")
    await form.ask(asked, turn, say, dict(turn.conversation.form_slots))
    return events + [SlotRequested(asked)]


async def answer_pending(turn: Turn, say: Responder, skills: SkillRouter) -> list[Event]:
    """After a form (verification, "which city?") completed: answer what the
    subscriber asked before it."""
    conversation = turn.conversation
    parse = ParseResult(text="", intent=conversation.pending_intent or "", confidence=1.0,
                        entities=dict(conversation.pending_entities))
    pending = replace(turn, parse=parse, form=None, understood_elsewhere=False)
    events = await skills.dispatch(pending, say) or []
    if not any(isinstance(e, PendingIntentSet) for e in events):
        events.insert(0, PendingIntentSet(None))
    return events
