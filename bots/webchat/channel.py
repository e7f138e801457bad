"""What the web chat routes need at run time, built once per app from the container's parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from bots.webchat.live import Mailbox, WebchatSender
from bots.webchat.schemas import TranscriptEntryLike
from bots.webchat.tokens import SessionSigner
from dialogs.delivery import Delivery
from dialogs.messages import Inbound, TurnResult
from dialogs.state.base import StateStore


class HistorySource(Protocol):
    """The conversation transcript as the web chat reads it (dispatcher's Transcript)."""

    async def history(self, conversation_key: str, limit: int = 50) -> Sequence[TranscriptEntryLike]: ...


class TurnHandler(Protocol):
    """The dialog engine as the web chat sees it."""

    async def handle(self, inbound: Inbound) -> TurnResult: ...


@dataclass(frozen=True)
class WebchatChannel:
    signer: SessionSigner
    engine: TurnHandler
    store: StateStore
    mailbox: Mailbox
    history: HistorySource

    @classmethod
    def start(
        cls, *, secret: bytes, engine: TurnHandler, store: StateStore, history: HistorySource, delivery: Delivery
    ) -> "WebchatChannel":
        """Build the channel and register its sender, so agents and the engine can push to widgets."""
        mailbox = Mailbox(store)
        delivery.register(WebchatSender(store, mailbox))
        return cls(signer=SessionSigner(secret), engine=engine, store=store, mailbox=mailbox, history=history)
