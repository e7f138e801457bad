"""Doubles for the dialog layer's unit tests: the billing port over a few cards and
the queue Protocols, in memory, recording what they were asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from billing.port import AccountCard, AccountStatus
from dialogs.responder import Responder
from dialogs.texts.catalog import TextCatalog
from dispatcher.handoffs import HandoffTicket

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
TEXTS = TextCatalog()


def card(number: str, phone: str, city: str = "Москва") -> AccountCard:
    return AccountCard(
        number=number, phone=phone, email=None, city=city, tariff="Базовый", monthly_fee=Decimal("500"),
        balance=Decimal("100"), status=AccountStatus.ACTIVE, next_charge_date=None, trust_payment_until=None,
    )


@dataclass
class CardsBilling:
    """The billing port over a few cards (passwords: ``pw<number>``)."""

    cards: list[AccountCard]

    async def find_account(self, number: str) -> AccountCard | None:
        return next((c for c in self.cards if c.number == number), None)

    async def check_password(self, number: str, password: str) -> bool:
        return await self.find_account(number) is not None and password == f"pw{number}"

    async def accounts_by_phone(self, phone_e164: str) -> list[AccountCard]:
        return [c for c in self.cards if c.phone == phone_e164]

    async def grant_trust_payment(self, number, policy, now):  # pragma: no cover - not used here
        raise NotImplementedError

    async def ping(self) -> bool:
        return True


@dataclass
class RecordingHandoffs:
    """HandoffRequests: remembers each enqueue."""

    queued: list[dict] = field(default_factory=list)

    async def enqueue(self, conversation_key: str, channel: str, **details) -> HandoffTicket:
        self.queued.append({"conversation_key": conversation_key, "channel": channel, **details})
        return HandoffTicket(id=len(self.queued), position=len(self.queued), already_waiting=False,
                             status="waiting", assigned_to=None)

    async def current(self, conversation_key: str):
        return None

    async def standing(self, conversation_key: str, *, now=None):
        return None


@dataclass
class RecordingCallbacks:
    """CallbackRequests: nothing open, nothing to cancel."""

    async def request(self, *args, **kwargs):  # pragma: no cover - not used here
        raise NotImplementedError

    async def open_for_conversation(self, conversation_key: str, *, now=None) -> list:
        return []

    async def cancel(self, request_id=None, *, conversation_key=None, now=None) -> bool:
        return False


@dataclass
class RecordingSms:
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, phone_e164: str, text: str) -> None:
        self.sent.append((phone_e164, text))



def texts_of(say: Responder) -> list[str]:
    return [reply.text for reply in say.replies]
