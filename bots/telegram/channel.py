"""The Telegram channel: an aiogram Dispatcher feeding the shared dialog engine.

Updates arrive either from the webhook (``accept_webhook``: verify, parse, claim,
acknowledge, then process in the background) or from long polling
(``bots.telegram.runner.run_polling``). Both paths pass the same update-level gate:

* one update at a time per chat, in arrival order (a password must not overtake
  the account number typed just before it);
* an ``update_id`` is handled once (``tg:update:<id>`` in the StateStore), so a
  re-delivered update has one effect and one reply, engine or not;
* an error is logged (the type and the stack, never the update's content) and
  swallowed: one bad update never stops the bot.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Sequence

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, Update
from aiogram.types.update import UpdateTypeLookupError
from pydantic import ValidationError

from bots.jsonbody import parse_json
from bots.telegram.commands import set_bot_commands
from bots.telegram.config import WEBHOOK_PATH, TelegramConfig, make_bot
from bots.telegram.handlers import build_router
from bots.telegram.rendering import ReplyRenderer
from bots.telegram.sender import TelegramSender, chat_id_for_api
from bots.telegram.texts import GROUP_CHAT_NOTE
from bots.channel import Channel, ChannelContext, ChannelNotStarted, TurnHandler, running_channel
from dialogs.delivery import DeliveryResult
from dialogs.messages import Inbound
from dialogs.state.base import StateStore

if TYPE_CHECKING:
    from fastapi import APIRouter

log = logging.getLogger(__name__)

CHANNEL = "telegram"
UPDATE_CLAIM_TTL = 48 * 3600.0  # Telegram keeps an unconfirmed update for 24 hours
GROUP_NOTE_INTERVAL = 3600.0  # at most one "write me in private" per group per hour


class WebhookOutcome:
    """HTTP status and a short machine-readable reason for the webhook response."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


class _ChatLocks:
    """One asyncio.Lock per chat, dropped when nobody holds or waits for it.
    asyncio.Lock wakes waiters first-come first-served, which keeps a chat's order."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def chat_key(update: Update) -> str:
    """The chat an update belongs to (for ordering); the update id if it has none."""
    event = update.event
    chat = getattr(event, "chat", None)
    if chat is None and isinstance(event, CallbackQuery):
        chat = event.message.chat if event.message else None
        if chat is None:
            return f"user:{event.from_user.id}"
    return f"chat:{chat.id}" if chat is not None else f"update:{update.update_id}"


def describe_error(error: BaseException) -> str:
    """An error for the log without its message when that could echo what a
    subscriber wrote (e.g. a validation error quoting a password); Telegram's own
    error descriptions are kept."""
    if isinstance(error, TelegramAPIError):
        return f"{type(error).__name__}: {error.message}"
    return type(error).__name__


class _UpdateGate(BaseMiddleware):
    def __init__(self, channel: "TelegramChannel") -> None:
        self.channel = channel

    async def __call__(
        self,
        handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
    ) -> Any:
        try:
            key = chat_key(event)
        except UpdateTypeLookupError:
            return None  # an update kind this aiogram does not know: nothing for us
        async with self.channel.chat_locks.hold(key):
            if not data.get("update_claimed") and not await self.channel.claim_update(event.update_id):
                log.info("Telegram update %s was already handled; skipped", event.update_id)
                return None
            try:
                return await handler(event, data)
            except Exception as error:  # noqa: BLE001 - one bad update must not stop the bot
                log.error(
                    "Telegram update %s failed: %s\n%s",
                    event.update_id,
                    describe_error(error),
                    "".join(traceback.format_tb(error.__traceback__)),
                )
                return None


class TelegramChannel(Channel):
    """Everything the Telegram adapter runs: bot, dispatcher, sender, background work."""

    name = CHANNEL
    max_buttons = 100  # inline keyboard: Telegram allows up to 100 buttons

    def __init__(
        self,
        config: TelegramConfig,
        *,
        engine: TurnHandler | None = None,
        store: StateStore | None = None,
        bot: Bot | None = None,
        concurrency: int = 16,
        processing_timeout: float = 120.0,
        claim_timeout: float = 5.0,
    ) -> None:
        self.config = config
        self.bot = bot or make_bot(config)
        self.chat_locks = _ChatLocks()
        self.processing_timeout = processing_timeout
        self.claim_timeout = claim_timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._capacity_changed = asyncio.Event()

        self.dispatcher = Dispatcher(name="isp-support")
        self.dispatcher["channel"] = self
        self.dispatcher.update.outer_middleware(_UpdateGate(self))
        self.dispatcher.include_router(build_router())
        self.engine: TurnHandler | None = None
        if engine is not None and store is not None:
            self._bind(engine, store)

    def _bind(self, engine: TurnHandler, store: StateStore) -> None:
        self.engine = engine
        self.store = store
        self.renderer = ReplyRenderer(store)
        self._sender = TelegramSender(self.bot, self.renderer)

    # -- the Channel contract -------------------------------------------------------------
    def can_delete_messages(self) -> bool:
        return True

    def can_ask_for_phone(self) -> bool:
        return True

    @property
    def sender(self) -> TelegramSender:
        if self.engine is None:
            raise ChannelNotStarted("the Telegram channel has not started")
        return self._sender

    def routes(self) -> Sequence[APIRouter]:
        from bots.telegram.webhook import make_webhook_router  # the webhook imports this module

        return [make_webhook_router(lambda request: running_channel(request, CHANNEL))]

    async def start(self, context: ChannelContext) -> None:
        """Inside the running loop: bind to the engine, and publish the command menu in
        the background (startup does not wait on api.telegram.org)."""
        if self.engine is None:
            self._bind(context.engine, context.store)
        if not self.config.webhook_secret:
            log.warning(
                "Telegram: TELEGRAM_WEBHOOK_SECRET is not set, so %s refuses every update; "
                "set it (and run `isp-support telegram set-webhook`) or use `isp-support telegram poll`",
                WEBHOOK_PATH,
            )
        self.run_in_background(self.startup())

    # -- lifecycle ------------------------------------------------------------------------
    async def startup(self, *, commands_timeout: float = 10.0) -> None:
        """Publish the Russian command menu; a Bot API hiccup only costs a log line."""
        try:
            await asyncio.wait_for(set_bot_commands(self.bot), commands_timeout)
        except Exception as error:  # noqa: BLE001 - the bot works without the menu
            log.warning("Telegram: could not set the command menu: %s", describe_error(error))

    async def close(self, *, grace: float = 10.0) -> None:
        """Let updates in progress finish (up to ``grace`` seconds), then close the session."""
        if self._tasks:
            done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                log.warning("Telegram: %d update(s) cancelled at shutdown", len(pending))
        await self.bot.session.close()

    async def drain(self) -> None:
        """Wait until every accepted update is processed (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- webhook ----------------------------------------------------------------------------
    def secret_matches(self, header_value: str | None) -> bool:
        expected = self.config.webhook_secret
        if not expected or header_value is None:
            return False  # no secret configured: the webhook stays closed
        return hmac.compare_digest(header_value.encode("utf-8"), expected.encode("utf-8"))

    async def accept_webhook(self, body: bytes) -> WebhookOutcome:
        """Parse and claim an update, schedule it, and return at once (Telegram re-sends
        an update that is not acknowledged within 60 s). The signature is checked by
        the caller before the body is read."""
        try:
            raw = parse_json(body)
        except (ValueError, UnicodeDecodeError):
            return WebhookOutcome(400, "malformed JSON")
        if not isinstance(raw, dict):
            return WebhookOutcome(422, "not an Update")
        try:
            update = Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError:
            return WebhookOutcome(422, "not an Update")
        if not await self._claim_quickly(update.update_id):
            return WebhookOutcome(200, "duplicate")
        self.submit(update)
        return WebhookOutcome(200, "accepted")

    async def _claim_quickly(self, update_id: int) -> bool:
        """Claim with a deadline: a slow or absent StateStore must not hold the webhook
        answer. On failure the update is processed anyway (the engine de-duplicates by
        message id too): a rare double reply beats a lost message."""
        try:
            return await asyncio.wait_for(self.claim_update(update_id), self.claim_timeout)
        except Exception as error:  # noqa: BLE001
            log.warning("Telegram update %s: de-duplication unavailable (%s)", update_id, describe_error(error))
            return True

    async def claim_update(self, update_id: int) -> bool:
        return await self.store.set_if_absent(f"tg:update:{update_id}", "1", ttl=UPDATE_CLAIM_TTL)

    def submit(self, update: Update, *, claimed: bool = True) -> None:
        """Process an update in the background (bounded concurrency, per-chat order).
        ``claimed``: the caller already took the update's de-duplication key."""
        self.run_in_background(self._process(update, claimed))

    def run_in_background(self, work: Awaitable[None]) -> None:
        """A task the channel keeps (and waits for at ``close``); it must not raise."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._capacity_changed.set())

    async def wait_for_capacity(self, max_pending: int) -> None:
        while len(self._tasks) >= max_pending:
            self._capacity_changed.clear()
            await self._capacity_changed.wait()

    async def _process(self, update: Update, claimed: bool) -> None:
        async with self._slots:
            try:
                await asyncio.wait_for(
                    self.dispatcher.feed_update(self.bot, update, update_claimed=claimed),
                    self.processing_timeout,
                )
            except Exception as error:  # noqa: BLE001 - logged, never raised into the loop
                log.error("Telegram update %s not processed: %s", update.update_id, describe_error(error))

    # -- what handlers call -----------------------------------------------------------------
    async def converse(
        self,
        message: Message,
        update_id: int,
        *,
        text: str | None = None,
        payload: str | None = None,
        vouched_phone: str | None = None,
    ) -> None:
        """One subscriber message through the engine; the replies back to the chat."""
        user = message.from_user
        inbound = Inbound(
            channel=CHANNEL,
            user_id=str(message.chat.id),
            message_id=str(update_id),
            text=text,
            payload=payload,
            vouched_phone=vouched_phone,
            display_name=user.full_name if user else None,
        )
        result = await self.engine.handle(inbound)
        if result.inbound_was_secret:
            await self._delete_quietly(message.chat.id, message.message_id)
        if result.duplicate or not result.replies:
            return  # already answered, or an agent holds the conversation
        self._log_failure(await self.sender.send(inbound.user_id, result.replies))

    async def converse_button(self, callback: CallbackQuery, update_id: int, *, payload: str) -> None:
        chat_id = callback.message.chat.id
        inbound = Inbound(
            channel=CHANNEL,
            user_id=str(chat_id),
            message_id=str(update_id),
            payload=payload,
            display_name=callback.from_user.full_name,
        )
        result = await self.engine.handle(inbound)
        if result.duplicate or not result.replies:
            return
        self._log_failure(await self.sender.send(inbound.user_id, result.replies))

    async def answer_callback(self, callback: CallbackQuery) -> None:
        try:
            await self.bot.answer_callback_query(callback.id)
        except TelegramAPIError as error:  # e.g. "query is too old": the reply still goes out
            log.info("Telegram: callback answer failed: %s", describe_error(error))

    async def say(self, chat_id: str, text: str) -> None:
        self._log_failure(await self.sender.say(chat_id, text))

    @staticmethod
    def _log_failure(result: DeliveryResult) -> None:
        if not result.sent:
            log.error("Telegram: reply not delivered: %s", result.detail or result.reason)

    async def note_group_chat(self, chat_id: str) -> None:
        """In a group the bot says only "write me in private", and not on every message."""
        if await self.store.set_if_absent(f"tg:group-note:{chat_id}", "1", ttl=GROUP_NOTE_INTERVAL):
            await self.say(chat_id, GROUP_CHAT_NOTE)

    async def _delete_quietly(self, chat_id: int, message_id: int) -> None:
        """Remove the message that carried a password. It may be gone or too old to
        delete; that is logged (without content) and the dialog goes on."""
        try:
            await self.bot.delete_message(chat_id=chat_id_for_api(str(chat_id)), message_id=message_id)
        except TelegramAPIError as error:
            log.warning("Telegram: could not delete a secret-carrying message: %s", describe_error(error))


def channel_from_settings(settings: Any, **options: Any) -> TelegramChannel | None:
    """On when ``TELEGRAM_BOT_TOKEN`` is set."""
    if not getattr(settings, "telegram_bot_token", None):
        return None
    return TelegramChannel(TelegramConfig.from_settings(settings), **options)


def build_channel(settings: Any, container: Any, **options: Any) -> TelegramChannel:
    """The channel bound to a container-like object (``engine``, ``store``): for polling."""
    return TelegramChannel(
        TelegramConfig.from_settings(settings), engine=container.engine, store=container.store, **options
    )
