"""What a skill changed, kept apart from what it said (rasa-sdk style).

Skills return a list of these; the engine applies them to the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dialogs.conversation import Conversation


class Event:
    def apply(self, conv: Conversation, now: float) -> None:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class AccountVerified(Event):
    account: str
    city: str | None = None

    def apply(self, conv: Conversation, now: float) -> None:
        conv.verified_account = self.account
        conv.verified_at = now
        if self.city:
            conv.city = self.city


@dataclass(frozen=True)
class LoggedOut(Event):
    def apply(self, conv: Conversation, now: float) -> None:
        conv.verified_account = None
        conv.verified_at = None
        conv.account = None  # whoever writes next names their own account


@dataclass(frozen=True)
class FormActivated(Event):
    name: str
    slots: dict = field(default_factory=dict)

    def apply(self, conv: Conversation, now: float) -> None:
        conv.active_form = self.name
        conv.form_slots = dict(self.slots)
        conv.requested_slot = None


@dataclass(frozen=True)
class SlotSet(Event):
    name: str
    value: object

    def apply(self, conv: Conversation, now: float) -> None:
        conv.form_slots[self.name] = self.value


@dataclass(frozen=True)
class SlotRequested(Event):
    name: str | None

    def apply(self, conv: Conversation, now: float) -> None:
        conv.requested_slot = self.name


@dataclass(frozen=True)
class FormDeactivated(Event):
    def apply(self, conv: Conversation, now: float) -> None:
        conv.active_form = None
        conv.form_slots = {}
        conv.requested_slot = None


@dataclass(frozen=True)
class PendingIntentSet(Event):
    """Resume this intent once the current form (usually verification) completes."""

    intent: str | None
    entities: dict = field(default_factory=dict)

    def apply(self, conv: Conversation, now: float) -> None:
        conv.pending_intent = self.intent
        conv.pending_entities = dict(self.entities)


@dataclass(frozen=True)
class CityRemembered(Event):
    city: str

    def apply(self, conv: Conversation, now: float) -> None:
        conv.city = self.city


@dataclass(frozen=True)
class DepartmentRemembered(Event):
    department: str

    def apply(self, conv: Conversation, now: float) -> None:
        conv.department = self.department


@dataclass(frozen=True)
class AccountRemembered(Event):
    account: str

    def apply(self, conv: Conversation, now: float) -> None:
        conv.account = self.account


@dataclass(frozen=True)
class Offered(Event):
    """The reply of this turn offered an action (a payload) a bare «да» accepts."""

    payload: str

    def apply(self, conv: Conversation, now: float) -> None:
        conv.offer = self.payload


@dataclass(frozen=True)
class Misunderstood(Event):
    def apply(self, conv: Conversation, now: float) -> None:
        conv.misunderstood_in_row += 1


@dataclass(frozen=True)
class SecretReceived(Event):
    """The inbound message carried a secret: redact it, and let the channel delete it."""

    def apply(self, conv: Conversation, now: float) -> None:
        return None


@dataclass(frozen=True)
class FormSubmitted(Event):
    """A form collected everything and acted: what was pending may resume."""

    name: str

    def apply(self, conv: Conversation, now: float) -> None:
        return None


@dataclass(frozen=True)
class LastIntent(Event):
    intent: str

    def apply(self, conv: Conversation, now: float) -> None:
        conv.last_intent = self.intent


@dataclass(frozen=True)
class HandoffQueued(Event):
    def apply(self, conv: Conversation, now: float) -> None:
        conv.awaiting_agent = True
