"""The web chat as a :class:`bots.channel.Channel`: the widget's HTTP + WebSocket API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Sequence

from fastapi import APIRouter

from bots.channel import Channel, ChannelContext, HistorySource, TurnHandler
from bots.webchat.live import CHANNEL, Mailbox, WebchatSender
from bots.webchat.revocation import SessionRevocations
from bots.webchat.tokens import SessionSigner, load_secret_key
from dialogs.delivery import Sender
from dialogs.state.base import StateStore


class WebchatChannel(Channel):
    name = CHANNEL
    max_buttons = 12  # the widget wraps buttons; more than a dozen is a wall

    def __init__(self, secret: bytes, *, token_idle: timedelta = timedelta(hours=24), token_absolute: timedelta = timedelta(days=30)) -> None:
        self.signer = SessionSigner(secret, idle=token_idle, absolute=token_absolute)
        self._engine: TurnHandler | None = None
        self._store: StateStore | None = None
        self._history: HistorySource | None = None
        self._mailbox: Mailbox | None = None
        self._sender: WebchatSender | None = None
        self._revocations: SessionRevocations | None = None

    def routes(self) -> Sequence[APIRouter]:
        from bots.webchat.routes import webchat_routers  # the routes import this module

        return webchat_routers()

    async def start(self, context: ChannelContext) -> None:
        if context.history is None:
            raise ValueError("the web chat needs the transcript (history)")
        self._engine, self._store, self._history = context.engine, context.store, context.history
        self._mailbox = Mailbox(context.store)
        self._sender = WebchatSender(context.store, self._mailbox)
        self._revocations = SessionRevocations(context.store)

    # What the routes use; each exists once the channel started.
    @property
    def engine(self) -> TurnHandler:
        return self.started(self._engine)

    @property
    def store(self) -> StateStore:
        return self.started(self._store)

    @property
    def history(self) -> HistorySource:
        return self.started(self._history)

    @property
    def mailbox(self) -> Mailbox:
        return self.started(self._mailbox)

    @property
    def revocations(self) -> SessionRevocations:
        return self.started(self._revocations)

    @property
    def sender(self) -> Sender:
        return self.started(self._sender)



def channel_from_settings(settings: Any) -> WebchatChannel:
    """Always on. ``secret_key`` (or the key kept in ``secret_key_file``) signs session
    tokens; ``webchat_token_ttl_*`` say when they expire."""
    secret = getattr(settings, "secret_key", None)
    return WebchatChannel(
        load_secret_key(secret.get_secret_value() if secret else None, settings.secret_key_file),
        token_idle=timedelta(minutes=settings.webchat_token_ttl_idle_minutes),
        token_absolute=timedelta(hours=settings.webchat_token_ttl_absolute_hours),
    )
