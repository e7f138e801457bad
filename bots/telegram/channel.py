"""The Telegram channel (:class:`bots.channel.Channel`): the aiogram bot and dispatcher,
composed at start from

* the update intake (``bots.telegram.intake``): webhook parsing, de-duplication,
  per-chat order, the bounded background pool;
* the conversation (``bots.telegram.conversation``): events through the dialog engine
  and the replies back, which the handlers (``bots.telegram.handlers``) call;
* the sender (``bots.telegram.sender``) for bot replies and agents' messages.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Sequence

from aiogram import Bot, Dispatcher

from bots.channel import Channel, ChannelContext, TurnHandler, running_channel
from bots.telegram.commands import set_bot_commands
from bots.telegram.config import WEBHOOK_PATH, TelegramConfig, make_bot
from bots.telegram.conversation import WORKFLOW_KEY, Conversation
from bots.telegram.errors import describe_error
from bots.telegram.handlers import build_router
from bots.telegram.intake import IntakeLimits, UpdateIntake
from bots.telegram.rendering import ReplyRenderer
from bots.telegram.sender import TelegramSender
from bots.telegram.state import TelegramState
from bots.telegram.webhook import make_webhook_router
from dialogs.state.base import StateStore

if TYPE_CHECKING:
    from fastapi import APIRouter, Request

    from bots.inbox import Inbox
    from bots.outbox import Outbox

log = logging.getLogger(__name__)

CHANNEL = "telegram"


class TelegramChannel(Channel):
    """Bot, dispatcher, intake, conversation and sender of the Telegram adapter."""

    name = CHANNEL
    max_buttons = 100  # inline keyboard: Telegram allows up to 100 buttons

    def __init__(
        self,
        config: TelegramConfig,
        *,
        bot: Bot | None = None,
        limits: IntakeLimits = IntakeLimits(),
    ) -> None:
        self.config = config
        self.bot = bot or make_bot(config)
        self.limits = limits
        self.intake: UpdateIntake | None = None
        self.conversation: Conversation | None = None
        self._sender: TelegramSender | None = None

    def bind(self, engine: TurnHandler, store: StateStore) -> None:
        """Compose the adapter around the engine and the StateStore (once)."""
        if self.intake is not None:
            return
        state = TelegramState(store)
        renderer = ReplyRenderer(store)
        self._sender = TelegramSender(self.bot, renderer)
        self.conversation = Conversation(
            CHANNEL,
            engine,
            self.bot,
            self._sender,
            renderer.codec,
            state,
            can_delete_messages=self.can_delete_messages(),
        )
        dispatcher = Dispatcher(name="isp-support")
        dispatcher[WORKFLOW_KEY] = self.conversation
        dispatcher.include_router(build_router())
        self.intake = UpdateIntake(
            self.bot, dispatcher, state, webhook_secret=self.config.webhook_secret, limits=self.limits
        )

    def use_durable(self, inbox: "Inbox | None", outbox: "Outbox | None") -> None:
        """Record updates in ``inbox`` before acknowledging them (its worker processes
        them) and retry refused replies from ``outbox``; None keeps the in-memory way."""
        self.conversation.outbox = outbox
        if inbox is not None and self.intake.durable is None:
            self.intake.use_inbox(inbox, CHANNEL).start()

    # -- the Channel contract -------------------------------------------------------------
    def can_delete_messages(self) -> bool:
        return True

    def can_ask_for_phone(self) -> bool:
        return True

    @property
    def sender(self) -> TelegramSender:
        return self.started(self._sender)

    def routes(self) -> Sequence[APIRouter]:
        return [make_webhook_router(_running_intake)]

    async def start(self, context: ChannelContext) -> None:
        """Inside the running loop: bind to the engine, and publish the command menu in
        the background (startup does not wait on api.telegram.org)."""
        self.bind(context.engine, context.store)
        self.use_durable(context.inbox, context.outbox)
        if not self.config.webhook_secret:
            log.warning(
                "Telegram: TELEGRAM_WEBHOOK_SECRET is not set, so %s refuses every update; "
                "set it (and run `isp-support telegram set-webhook`) or use `isp-support telegram poll`",
                WEBHOOK_PATH,
            )
        self.intake.run_in_background(self.startup())

    async def startup(self, *, commands_timeout: float = 10.0) -> None:
        """Publish the Russian command menu; a Bot API hiccup only costs a log line."""
        try:
            await asyncio.wait_for(set_bot_commands(self.bot), commands_timeout)
        except Exception as error:  # noqa: BLE001 - the bot works without the menu
            log.warning("Telegram: could not set the command menu: %s", describe_error(error))

    async def close(self, *, grace: float = 10.0) -> None:
        """Let updates in progress finish (up to ``grace`` seconds), then close the session."""
        if self.intake is not None:
            await self.intake.close(grace=grace)
        await self.bot.session.close()

    async def drain(self) -> None:
        """Wait until every accepted update is processed (tests, shutdown)."""
        if self.intake is not None:
            await self.intake.drain()


def _running_intake(request: Request) -> UpdateIntake | None:
    channel = running_channel(request, CHANNEL)
    return channel.intake if isinstance(channel, TelegramChannel) else None


def channel_from_settings(settings: Any, **options: Any) -> TelegramChannel | None:
    """On when ``TELEGRAM_BOT_TOKEN`` is set."""
    if not getattr(settings, "telegram_bot_token", None):
        return None
    return TelegramChannel(TelegramConfig.from_settings(settings), **options)


def build_channel(settings: Any, container: Any, **options: Any) -> TelegramChannel:
    """The channel bound at once to a container-like object (``engine``, ``store``):
    for long polling, which runs without the web app."""
    channel = TelegramChannel(TelegramConfig.from_settings(settings), **options)
    channel.bind(container.engine, container.store)
    channel.use_durable(getattr(container, "inbox", None), getattr(container, "outbox", None))
    return channel
