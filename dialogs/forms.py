"""Forms: collect several slots over several turns, then act (rasa-sdk's FormAction).

A form names its slots; for each slot it may define ``extract_<slot>`` (read the value
from the turn), ``validate_<slot>`` (return the slots to set, or None after saying
why the value is wrong) and ``ask_<slot>`` (the question). ``submit`` runs once
every required slot is filled.
"""

from __future__ import annotations

from typing import Any

from dialogs.payloads import INFORM
from dialogs.events import (
    Event,
    FormActivated,
    FormDeactivated,
    FormSubmitted,
    PendingIntentSet,
    SlotRequested,
    SlotSet,
)
from dialogs.responder import Responder
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
        events: list[Event] = [FormActivated(self.name, slots)]
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
