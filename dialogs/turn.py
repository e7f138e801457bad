"""What a skill sees of one turn: the message, what it means, the conversation so
far, and the services it may call. Skills get everything through this object —
no globals — so a test can build one directly.

The services outside the dialog layer are Protocols: a skill knows what it may ask
of the callback and handoff queues, not which classes answer (``dispatcher`` in the
app, anything with these methods in a test)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from billing.port import Billing, TrustPolicy
from dialogs.conversation import Conversation
from dialogs.messages import Inbound
from dialogs.nlu.base import ParseResult
from dispatcher.callbacks import CallbackTicket
from dispatcher.handoffs import HandoffRecord, HandoffTicket
from reference.directory import City, Directory

if TYPE_CHECKING:  # skills import this module: a runtime import would go in a circle
    from dialogs.forms import Form
    from dialogs.skills.login_attempts import LoginAttempts


class SmsSender(Protocol):
    async def send(self, phone_e164: str, text: str) -> None: ...


class CallbackRequests(Protocol):
    """The callback queue, as the callback skill uses it."""

    async def request(
        self,
        city: str,
        department: str,
        phone: str,
        *,
        account_number: str | None = None,
        conversation_key: str | None = None,
        preferred_time: str | None = None,
        topic: str | None = None,
        now: datetime | None = None,
    ) -> CallbackTicket: ...

    async def open_for_conversation(self, conversation_key: str, *, now: datetime | None = None) -> list[CallbackTicket]: ...

    async def cancel(
        self, request_id: int | None = None, *, conversation_key: str | None = None, now: datetime | None = None
    ) -> bool: ...


class HandoffRequests(Protocol):
    """The handoff queue, as the handoff skill and the engine use it. Its tickets carry
    ``expected_at``: when an agent is expected to answer (the measured estimate of
    ``dispatcher.estimate``), or None when it cannot be told."""

    async def enqueue(
        self,
        conversation_key: str,
        channel: str,
        *,
        city: str | None,
        department: str,
        account_number: str | None = None,
        reason: str,
        now: datetime | None = None,
    ) -> HandoffTicket: ...

    async def current(self, conversation_key: str) -> HandoffRecord | None: ...

    async def standing(self, conversation_key: str, *, now: datetime | None = None) -> HandoffTicket | None: ...


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
    callbacks: CallbackRequests
    handoffs: HandoffRequests
    sms: SmsSender
    login_attempts: "LoginAttempts"  # the verify skill's wrong guesses, locks, codes
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
    # The form that was waiting for an answer when the turn began (None: none was).
    form: "Form | None" = None
    # An NLU outside the engine (a Rasa server) read the text: its reading stands.
    understood_elsewhere: bool = False

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

    def known_department(self) -> str | None:
        """The department named now, else the one named earlier in the conversation."""
        departments = self.services.directory.departments
        for candidate in (self.entity("department"), self.conversation.department):
            if candidate in departments:
                return candidate
        return None
