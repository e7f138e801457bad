"""Update intake: how Telegram updates get from the wire to the aiogram dispatcher.

Updates arrive either from the webhook (:meth:`UpdateIntake.accept_webhook`: parse,
claim, acknowledge, then process in the background) or from long polling
(:meth:`UpdateIntake.submit`, from ``bots.telegram.runner``). Both paths go the same way:

* one update at a time per chat, in arrival order (a password must not overtake
  the account number typed just before it). The chat's turn comes before a pool
  slot, so a busy chat's queue never holds slots other chats need;
* at most ``concurrency`` updates run at once, each for at most
  ``processing_timeout`` (counted from its turn, not from its arrival: an update
  waiting behind a hanging one is not timed out with it);
* the dispatcher's outer middleware (:class:`UpdateGate`) handles an ``update_id``
  once (claimed in the StateStore), so a re-delivered update has one effect and one
  reply, engine or not; and logs an error (the type and the stack, never the
  update's content) and swallows it: one bad update never stops the bot.

Background work is tracked, so ``close`` can let it finish.

With the app's inbox (``use_inbox``, the usual case) the webhook and polling record
the update durably instead (``bots.durable_intake``: 503 when it cannot be recorded)
and the inbox worker feeds it through the same per-chat path; the inbox's unique
(channel, ``update_id``) then takes the StateStore claim's place.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import CallbackQuery, Update
from aiogram.types.update import UpdateTypeLookupError
from pydantic import ValidationError

from bots.durable_intake import DurableIntake
from bots.inbox import Inbox, InboxItem
from bots.jsonbody import parse_json
from bots.ordering import drain_tasks, finish_or_cancel
from bots.telegram.errors import describe_error
from bots.telegram.state import TelegramState

log = logging.getLogger(__name__)

# Set in the dispatcher's workflow data when the caller already claimed the update.
CLAIMED = "update_claimed"
# Set when the caller retries a failed update (the durable inbox): the error goes back
# to it instead of being swallowed, so the update is not marked done unanswered.
RETRIED_ON_ERROR = "update_retried_on_error"


@dataclass(frozen=True)
class WebhookOutcome:
    """HTTP status and a short machine-readable reason for the webhook response."""

    status: int
    reason: str


class ChatLocks:
    """One asyncio.Lock per chat, dropped when nobody holds or waits for it.
    asyncio.Lock wakes waiters first-come first-served, which keeps a chat's order."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

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


class UpdateGate(BaseMiddleware):
    """The dispatcher's outer middleware: one effect per update_id, and no exception
    out of an update — unless the caller retries failed updates (``RETRIED_ON_ERROR``:
    the inbox), which then gets the error after it is logged."""

    def __init__(self, claim: Callable[[int], Awaitable[bool]]) -> None:
        self.claim = claim

    async def __call__(
        self,
        handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
    ) -> Any:
        if not data.get(CLAIMED) and not await self.claim(event.update_id):
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
            if data.get(RETRIED_ON_ERROR):
                raise
            return None


@dataclass(frozen=True)
class IntakeLimits:
    concurrency: int = 16  # updates processed at once (across chats)
    processing_timeout: float = 120.0  # seconds one update may run once its turn comes
    claim_timeout: float = 5.0  # seconds the webhook waits for the de-duplication claim


class UpdateIntake:
    """Takes updates in (webhook body or polled ``Update``) and feeds them to
    ``dispatcher`` in the background, through the :class:`UpdateGate` it installs."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        state: TelegramState,
        *,
        webhook_secret: str | None = None,
        limits: IntakeLimits = IntakeLimits(),
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.state = state
        self.webhook_secret = webhook_secret
        self.limits = limits
        self.chat_locks = ChatLocks()
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._capacity_changed = asyncio.Event()
        # With an inbox (``use_inbox``), updates are recorded before they are
        # acknowledged and processed by its worker; the inbox's unique (channel,
        # update_id) replaces the StateStore claim. Without one: in memory, as before.
        self.durable: DurableIntake | None = None
        dispatcher.update.outer_middleware(UpdateGate(state.claim_update))

    def use_inbox(self, inbox: Inbox, channel: str) -> DurableIntake:
        self.durable = DurableIntake(inbox, channel, self.process_recorded)
        return self.durable

    # -- the webhook ------------------------------------------------------------------------
    def secret_matches(self, header_value: str | None) -> bool:
        expected = self.webhook_secret
        if not expected or header_value is None:
            return False  # no secret configured: the webhook stays closed
        return hmac.compare_digest(header_value.encode("utf-8"), expected.encode("utf-8"))

    async def accept_webhook(self, body: bytes) -> WebhookOutcome:
        """Parse and claim an update, schedule it, and return at once (Telegram re-sends
        an update that is not acknowledged within 60 s). The secret is checked by the
        caller before the body is read."""
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
        if self.durable is not None:
            return await self._record(update, json.dumps(raw))
        if not await self._claim_quickly(update.update_id):
            return WebhookOutcome(200, "duplicate")
        self.submit(update)
        return WebhookOutcome(200, "accepted")

    async def _record(self, update: Update, payload: str) -> WebhookOutcome:
        """Commit the update before the 200; the database away → 503 (Telegram retries)."""
        try:
            chat_key(update)
        except UpdateTypeLookupError:
            return WebhookOutcome(200, "ignored")  # an update kind this aiogram does not know
        try:
            new = await self.record(update, payload)
        except Exception as error:  # noqa: BLE001 - not recorded: not acknowledged
            log.error("Telegram update %s not recorded: %s", update.update_id, describe_error(error))
            return WebhookOutcome(503, "not recorded; retry later")
        return WebhookOutcome(200, "accepted" if new else "duplicate")

    async def record(self, update: Update, payload: str | None = None) -> bool:
        """Into the inbox (raises when the database cannot take it). ``payload``: the
        update's JSON (a polled update is serialised here)."""
        try:
            key = chat_key(update)
        except UpdateTypeLookupError:
            return False  # an update kind this aiogram does not know: nothing for us
        if payload is None:
            payload = update.model_dump_json(by_alias=True, exclude_none=True)
        return await self.durable.record(str(update.update_id), f"telegram:{key}", payload)

    async def process_recorded(self, item: InboxItem) -> None:
        """The inbox worker's handler: the recorded update through the dispatcher, here
        and now. The row is done when this returns; a failure (the handler raised or
        timed out: say, Redis went away between the engine's apology and the send)
        raises, and the inbox retries the update with a backoff. A retry of an update
        that was answered is answered from the engine's record, not twice."""
        update = Update.model_validate(json.loads(item.payload), context={"bot": self.bot})
        await self._process(update, claimed=True, raise_errors=True)

    async def _claim_quickly(self, update_id: int) -> bool:
        """Claim with a deadline: a slow or absent StateStore must not hold the webhook
        answer. On failure the update is processed anyway (the engine de-duplicates by
        message id too): a rare double reply beats a lost message."""
        try:
            return await asyncio.wait_for(self.state.claim_update(update_id), self.limits.claim_timeout)
        except Exception as error:  # noqa: BLE001
            log.warning("Telegram update %s: de-duplication unavailable (%s)", update_id, describe_error(error))
            return True

    # -- background processing -------------------------------------------------------------------
    def submit(self, update: Update, *, claimed: bool = True) -> None:
        """Process an update in the background (bounded concurrency, per-chat order).
        ``claimed``: the caller already took the update's de-duplication key."""
        self.run_in_background(self._process(update, claimed))

    def run_in_background(self, work: Awaitable[None]) -> None:
        """A task the intake keeps (and waits for at ``close``); it must not raise."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._capacity_changed.set())

    @property
    def pending(self) -> int:
        """Updates (and other background work) accepted and not finished yet."""
        return len(self._tasks)

    async def wait_for_capacity(self, max_pending: int) -> None:
        """Back-pressure for polling: wait until fewer than ``max_pending`` are pending."""
        while len(self._tasks) >= max_pending:
            self._capacity_changed.clear()
            await self._capacity_changed.wait()

    async def drain(self) -> None:
        """Wait until every accepted update is processed (tests, shutdown)."""
        if self.durable is not None:
            await self.durable.drain()
        await drain_tasks(self._tasks)

    async def close(self, *, grace: float = 10.0) -> None:
        """Let updates in progress finish (up to ``grace`` seconds), cancel the rest.
        The inbox worker stops first: what it has not finished stays in the inbox."""
        if self.durable is not None:
            await self.durable.close()
        cancelled = await finish_or_cancel(self._tasks, grace)
        if cancelled:
            log.warning("Telegram: %d update(s) cancelled at shutdown", cancelled)

    async def _process(self, update: Update, claimed: bool, *, raise_errors: bool = False) -> None:
        try:
            key = chat_key(update)
        except UpdateTypeLookupError:
            return  # an update kind this aiogram does not know: nothing for us
        async with self.chat_locks.hold(key), self._slots:
            try:
                await asyncio.wait_for(
                    self.dispatcher.feed_update(self.bot, update, **{CLAIMED: claimed, RETRIED_ON_ERROR: raise_errors}),
                    self.limits.processing_timeout,
                )
            except Exception as error:  # noqa: BLE001 - logged; raised only to a caller that retries
                log.error("Telegram update %s not processed: %s", update.update_id, describe_error(error))
                if raise_errors:
                    raise
