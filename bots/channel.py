"""The Channel contract: what every messenger adapter under ``bots/`` provides.

A channel is a small object (Chatwoot's ``Channel::*`` models) with

* a ``name`` — the ``Inbound.channel`` of its messages and the prefix of its
  conversation keys;
* the HTTP ``routes()`` it mounts (webhooks, its own API), built before start;
* ``start(context)`` / ``close()`` around the app's life — ``start`` gets the engine
  and the shared services through a typed :class:`ChannelContext`;
* its ``sender`` (:class:`dialogs.delivery.Sender`): deliver bot replies and agent
  messages to one user and report the result (sent / failed and why);
* capabilities as predicates, so callers ask instead of branching on the name:
  ``supports_buttons()`` and ``max_buttons``, ``can_delete_messages()``,
  ``can_ask_for_phone()``, ``has_messaging_window()`` / ``messaging_window``.

``app`` builds the list of enabled channels from the settings (each package offers
``channel_from_settings(settings) -> Channel | None``); nothing outside ``app`` names a
concrete channel. Routes find their running channel with :func:`running_channel`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol, Sequence, TypeVar

from dialogs.delivery import Delivery, DeliveryResult, Sender
from dialogs.messages import Inbound, TurnResult
from dialogs.state.base import StateStore
from storage.clock import Clock, utc_now

if TYPE_CHECKING:
    from fastapi import APIRouter, Request

    from bots.inbox import Inbox
    from bots.outbox import Outbox

__all__ = [
    "Channel",
    "ChannelContext",
    "ChannelNotStarted",
    "ReceiptLog",
    "DeliveryResult",
    "Sender",
    "TurnHandler",
    "running_channel",
]


T = TypeVar("T")


class TurnHandler(Protocol):
    """The dialog engine as a channel sees it."""

    async def handle(self, inbound: Inbound) -> TurnResult: ...


class HistorySource(Protocol):
    """The conversation transcript, for channels that show history (web chat)."""

    async def history(self, conversation_key: str, limit: int = 50) -> Sequence[Any]: ...


class ReceiptLog(Protocol):
    """Where a channel records what its messenger later reports about a sent message
    (``dispatcher.receipts.Receipts``); the console shows it."""

    async def record(
        self,
        channel: str,
        provider_message_id: str,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        conversation_key: str | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class ChannelContext:
    """What a channel gets from the composition root at start."""

    engine: TurnHandler
    store: StateStore
    delivery: Delivery
    history: HistorySource | None = None
    receipts: ReceiptLog | None = None
    clock: Clock = utc_now
    # Durable intake and outbound (bots.inbox, bots.outbox): a webhook records its
    # update in ``inbox`` before answering 200; transient send failures go to ``outbox``.
    inbox: "Inbox | None" = None
    outbox: "Outbox | None" = None


class ChannelNotStarted(RuntimeError):
    pass


class Channel(ABC):
    name: ClassVar[str]
    # How many buttons one message can carry in this channel's idiom (0: none; the
    # adapter then offers a numbered menu or plain text).
    max_buttons: ClassVar[int] = 0
    # The messenger's customer-service window (WhatsApp: 24 hours after the
    # subscriber's last message); None when a bot may write at any time.
    messaging_window: ClassVar[timedelta | None] = None

    # -- capabilities ------------------------------------------------------------------
    def supports_buttons(self) -> bool:
        return self.max_buttons > 0

    def can_delete_messages(self) -> bool:
        """Can remove a subscriber's message (one that carried a password)."""
        return False

    def can_ask_for_phone(self) -> bool:
        """Can offer a one-tap "share my phone" that the messenger vouches for."""
        return False

    def has_messaging_window(self) -> bool:
        return self.messaging_window is not None

    # -- lifecycle -----------------------------------------------------------------------
    def routes(self) -> Sequence["APIRouter"]:
        """Routers to mount in the app (built before ``start``; they find the running
        channel with :func:`running_channel`)."""
        return ()

    @abstractmethod
    async def start(self, context: ChannelContext) -> None:
        """Bind to the engine and services; called once inside the running loop."""

    async def close(self) -> None:
        """Finish work in progress and release connections."""

    @property
    @abstractmethod
    def sender(self) -> Sender:
        """The channel's sender; available after ``start``."""

    def started(self, part: T | None) -> T:
        """``part`` (made by ``start``), or ChannelNotStarted naming this channel."""
        if part is None:
            raise ChannelNotStarted(f"the {self.name} channel has not started")
        return part


def running_channel(request: "Request", name: str) -> Channel | None:
    """The started channel ``name`` of the app serving ``request`` (None when disabled)."""
    channels: dict[str, Channel] = getattr(request.app.state, "channels", {})
    return channels.get(name)


ChannelFactory = Callable[[Any], "Channel | None"]
