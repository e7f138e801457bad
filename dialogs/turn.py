"""What a skill sees of one turn: the message, what it means, the conversation so
far, and the services it may call. Skills get everything through this object —
no globals — so a test can build one directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from billing.port import Billing, TrustPolicy
from reference.directory import City, Directory
from dialogs.conversation import Conversation
from dialogs.messages import Inbound
from dialogs.nlu.base import ParseResult
from dialogs.state.base import StateStore
from dispatcher.callbacks import CallbackQueue
from dispatcher.handoffs import HandoffQueue


class SmsSender(Protocol):
    async def send(self, phone_e164: str, text: str) -> None: ...


@dataclass(frozen=True)
class VerifyPolicy:
    max_attempts: int = 5  # wrong guesses per account ...
    window_seconds: int = 15 * 60  # ... within this window
    max_attempts_per_conversation: int = 10
    sms_code_ttl_seconds: int = 10 * 60
    session_idle_seconds: int = 30 * 60


@dataclass(frozen=True)
class Services:
    billing: Billing
    directory: Directory
    callbacks: CallbackQueue
    handoffs: HandoffQueue
    sms: SmsSender
    store: StateStore
    verify_policy: VerifyPolicy
    trust_policy: TrustPolicy
    handoff_after_misunderstandings: int = 2


@dataclass
class Turn:
    inbound: Inbound
    parse: ParseResult
    conversation: Conversation
    services: Services
    now: datetime  # aware, UTC

    @property
    def intent(self) -> str:
        return self.parse.intent

    def entity(self, name: str) -> str | None:
        return self.parse.entities.get(name)

    @property
    def text(self) -> str:
        return (self.inbound.text or "").strip()

    def known_city(self) -> City | None:
        """The city named now, else the one remembered for this conversation."""
        return self.services.directory.city(self.entity("city") or self.conversation.city)
