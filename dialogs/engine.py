"""The dialog engine: one ``Inbound`` in, a ``TurnResult`` out.

Per conversation, turns are serialised by a StateStore lock (two messages of one
subscriber never interleave, across processes with Redis) and de-duplicated by the
channel's message id (a re-delivered message gets the stored replies, no second
effect). The engine never looks at the channel: adapters render the replies.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

from dialogs import payloads
from dialogs.conversation import Conversation
from dialogs.events import (
    Event,
    FormDeactivated,
    FormSubmitted,
    LastIntent,
    LoggedOut,
    Misunderstood,
    PendingIntentSet,
    SecretReceived,
)
from dialogs.forms import Form
from dialogs.messages import CONTACT, Inbound, Reply, TurnResult
from dialogs.nlu.base import ParseResult
from dialogs.responder import Responder
from dialogs.router import SkillRouter
from dialogs.skills import FORMS, build_root_router
from dialogs.skills.handoff import handoff_after_misunderstanding
from dialogs.skills.menu import main_menu, not_understood
from dialogs.skills.verify import verify_by_vouched_phone
from dialogs.texts.catalog import TextCatalog
from dialogs.turn import Services, Turn
from dispatcher.transcript import TranscriptLine
from storage.clock import utc_now

log = logging.getLogger(__name__)

# A bare word that leaves whatever form is running.
CANCEL_TEXT = re.compile(r"^\s*(отмена|отменить|стоп|хватит|назад|в меню|меню|cancel|stop|menu)\s*[.!]*\s*$", re.I)
REDACTED = "•••••• (скрыто)"
# Which earlier requests a message carrying only this entity continues.
FOLLOW_UP_INTENTS = {
    "city": ("office_hours", "operator"),
    "payment_method": ("payment_methods",),
    "department": ("callback", "operator"),
}


class Understander(Protocol):
    def parse(self, text: str) -> ParseResult: ...


class TranscriptLog(Protocol):
    async def record_many(self, conversation_key: str, lines: list, *, now: datetime | None = None) -> None: ...


@dataclass(frozen=True)
class EngineLimits:
    state_ttl_seconds: int = 7 * 24 * 3600  # a quiet conversation is forgotten after a week
    dedup_ttl_seconds: int = 24 * 3600  # channels re-deliver within hours, not days
    lock_timeout_seconds: float = 30.0
    lock_wait_seconds: float = 30.0
    min_confidence: float = 0.45  # below this the NLU's guess counts as "not understood"
    # A person writes a few messages a minute; a script or a stuck client writes more.
    # Past this the subscriber is asked to slow down and nothing else is done.
    messages_per_minute: int = 30



class DialogEngine:
    def __init__(
        self,
        services: Services,
        nlu: Understander,
        *,
        texts: TextCatalog | None = None,
        transcript: TranscriptLog | None = None,
        clock: Callable[[], datetime] = utc_now,
        limits: EngineLimits = EngineLimits(),
        router: SkillRouter | None = None,
        forms: dict[str, Form] | None = None,
    ) -> None:
        self.services = services
        self.nlu = nlu
        self.texts = texts or TextCatalog()
        self.transcript = transcript
        self.clock = clock
        self.limits = limits
        self.router = router or build_root_router()
        self.forms = forms if forms is not None else FORMS

    # -- the public entry point ------------------------------------------------------------
    async def handle(self, inbound: Inbound, *, understood: ParseResult | None = None) -> TurnResult:
        """Answer one message. ``understood``: what an external NLU (a Rasa server
        calling our action server) made of it; otherwise our own NLU reads it.

        Never raises for a failure behind it (database, Redis, a bug in a skill): the
        subscriber gets an apology with the phone number, the log gets the error (not
        the message), and nothing is remembered, so sending again retries."""
        try:
            return await self._handle(inbound, understood)
        except Exception:  # noqa: BLE001 - a subscriber never sees a stack trace
            log.exception("turn failed on %s (message %s)", inbound.channel, inbound.message_id)
            say = Responder(self.texts)
            say.say("menu.technical_error", service_phone=self.services.directory.service_line.phone)
            return TurnResult(replies=say.replies)

    async def _handle(self, inbound: Inbound, understood: ParseResult | None) -> TurnResult:
        store = self.services.store
        key = inbound.conversation_key
        async with store.lock(f"lock:{key}", timeout=self.limits.lock_timeout_seconds, wait=self.limits.lock_wait_seconds):
            # Message ids are unique per chat on some channels (Telegram), not globally.
            dedup_key = f"dedup:{key}:{inbound.message_id}" if inbound.message_id else None
            if dedup_key:
                seen = await store.get(dedup_key)
                if seen is not None:
                    return TurnResult.from_dict(json.loads(seen), duplicate=True)
            if await store.incr(f"rate:{key}", 60) > self.limits.messages_per_minute:
                say = Responder(self.texts)
                say.say("menu.too_fast")
                return TurnResult(replies=say.replies)  # not stored: a retry later is a new try
            result = await self._handle_locked(inbound, understood)
            if dedup_key:
                await store.set(dedup_key, json.dumps(result.to_dict(), ensure_ascii=False), ttl=self.limits.dedup_ttl_seconds)
            return result

    # -- one turn ------------------------------------------------------------------------------
    async def _handle_locked(self, inbound: Inbound, understood: ParseResult | None) -> TurnResult:
        now = self.clock()
        key = inbound.conversation_key
        raw = await self.services.store.get(f"conv:{key}")
        conv = Conversation.loads(key, raw)
        # Only a conversation queued for agents can be held by one: the database is
        # asked for those (and for conversations the state store does not know, in
        # case it lost them), not on every turn.
        if raw is None or conv.awaiting_agent:
            handoff = await self.services.handoffs.current(key)
            conv.awaiting_agent = handoff is not None
            if handoff is not None and handoff.status == "assigned":
                # An agent holds the conversation: the bot is silent; the agent sees it.
                await self.services.store.set(f"conv:{key}", conv.dumps(), ttl=self.limits.state_ttl_seconds)
                await self._record(key, inbound, [], secret=False, now=now)
                return TurnResult(held_by_agent=True)

        self._expire_idle_verification(conv, now)
        form = self.forms.get(conv.active_form) if conv.active_form else None
        awaiting_secret = form is not None and conv.requested_slot in form.secret_slots
        if understood is not None and not awaiting_secret and not inbound.payload:
            parse = understood
        else:
            parse = self._understand(inbound, awaiting_secret)
        turn = Turn(inbound=inbound, parse=parse, conversation=conv, services=self.services, now=now)
        say = Responder(self.texts)

        events = await self._route(turn, say, form)
        secret = awaiting_secret and inbound.text is not None and inbound.payload is None
        if secret:
            events.append(SecretReceived())
        self._apply(conv, events, now)

        if any(isinstance(e, FormSubmitted) for e in events) and conv.pending_intent and conv.active_form is None:
            events = await self._resume_pending(conv, inbound, say, now)
            self._apply(conv, events, now)

        conv.last_seen = now.timestamp()
        await self.services.store.set(f"conv:{key}", conv.dumps(), ttl=self.limits.state_ttl_seconds)
        await self._record(key, inbound, say.replies, secret=secret, now=now)
        return TurnResult(replies=say.replies, inbound_was_secret=secret)

    def _understand(self, inbound: Inbound, awaiting_secret: bool) -> ParseResult:
        if inbound.payload:
            parsed = payloads.parse(inbound.payload)
            return parsed or ParseResult(text="", intent="out_of_scope", confidence=0.0)
        text = (inbound.text or "").strip()
        if CANCEL_TEXT.match(text):
            return ParseResult(text="", intent=payloads.CANCEL, confidence=1.0)
        if awaiting_secret:
            # A password is never shown to the NLU (nor logged): only "cancel" is read.
            return ParseResult(text="", intent=payloads.INFORM, confidence=1.0)
        if not text:
            if inbound.vouched_phone:
                return ParseResult(text="", intent=payloads.INFORM, confidence=1.0, entities={"phone": inbound.vouched_phone})
            return ParseResult(text="", intent="out_of_scope", confidence=0.0)
        return self.nlu.parse(text[:1000])

    async def _route(self, turn: Turn, say: Responder, form: Form | None) -> list[Event]:
        parse = turn.parse
        if parse.intent in (payloads.MENU, payloads.CANCEL):
            return await self.router.dispatch(turn, say) or []

        # Only a shared contact itself logs in here: WhatsApp vouches for the sender of
        # every message, and a typed answer (a password) must still reach its form.
        shared_phone = parse.intent == payloads.INFORM and turn.inbound.via == CONTACT and turn.inbound.vouched_phone
        if shared_phone and not turn.conversation.is_verified and (form is None or form.name == "verify"):
            # A contact shared while logging in (or out of the blue) proves the phone.
            by_phone = await verify_by_vouched_phone(turn, say)
            if by_phone is not None:
                return by_phone
            say.say("verify.phone_not_found", buttons=[say.button("buttons.verify", payloads.make("verify"))])
            return []

        if form is not None:
            from_button = parse.confidence >= 1.0 and parse.intent not in payloads.CONTROL
            if not from_button:
                events = await form.resume(turn, say)
                if events is not None:
                    return events
            if not from_button and not self._confident(parse):
                # The answer did not fit the question: ask again, the form stays.
                slot = turn.conversation.requested_slot
                if slot:
                    await form.not_understood(slot, turn, say, dict(turn.conversation.form_slots))
                    return []
            # A new request: leave the form and answer it. (Cleared on the turn's view
            # now, so skills that start forms of their own see none running.)
            turn.conversation.active_form = None
            prefix: list[Event] = [FormDeactivated(), PendingIntentSet(None)]
            return prefix + await self._dispatch(turn, say)

        if parse.intent == payloads.INFORM:
            say.say("menu.stale_button", buttons=main_menu(say, turn))
            return []
        return await self._dispatch(turn, say)

    async def _dispatch(self, turn: Turn, say: Responder) -> list[Event]:
        if self._confident(turn.parse):
            events = await self.router.dispatch(turn, say)
            if events is not None:
                return events + [LastIntent(turn.intent)]
        follow_up = self._follow_up(turn)
        if follow_up is not None:
            turn.parse = follow_up
            events = await self.router.dispatch(turn, say)
            if events is not None:
                return events + [LastIntent(follow_up.intent)]
        if turn.conversation.misunderstood_in_row + 1 >= self.services.handoff_after_misunderstandings:
            return await handoff_after_misunderstanding(turn, say)  # no Misunderstood: the count restarts
        return [Misunderstood()] + await not_understood(turn, say)

    @staticmethod
    def _follow_up(turn: Turn) -> ParseResult | None:
        """«а во Владивостоке?» after office hours: only an entity the last request takes."""
        last = turn.conversation.last_intent
        if not last or not turn.parse.entities:
            return None
        if all(last in FOLLOW_UP_INTENTS.get(name, ()) for name in turn.parse.entities):
            return ParseResult(text=turn.parse.text, intent=last, confidence=1.0, entities=turn.parse.entities)
        return None

    def _confident(self, parse: ParseResult) -> bool:
        return parse.intent != "out_of_scope" and parse.confidence >= self.limits.min_confidence

    async def _resume_pending(self, conv: Conversation, inbound: Inbound, say: Responder, now: datetime) -> list[Event]:
        """Answer what the subscriber asked before a form (verification, "which city?")."""
        intent, entities = conv.pending_intent, dict(conv.pending_entities)
        parse = ParseResult(text="", intent=intent, confidence=1.0, entities=entities)
        turn = Turn(inbound=inbound, parse=parse, conversation=conv, services=self.services, now=now)
        events = await self.router.dispatch(turn, say) or []
        if not any(isinstance(e, PendingIntentSet) for e in events):
            events.insert(0, PendingIntentSet(None))
        return events

    def _apply(self, conv: Conversation, events: list[Event], now: datetime) -> None:
        stamp = now.timestamp()
        misunderstood = False
        for event in events:
            event.apply(conv, stamp)
            misunderstood = misunderstood or isinstance(event, Misunderstood)
        if not misunderstood:
            conv.misunderstood_in_row = 0

    def _expire_idle_verification(self, conv: Conversation, now: datetime) -> None:
        idle = self.services.verify_policy.session_idle_seconds
        if conv.is_verified and conv.last_seen is not None and now.timestamp() - conv.last_seen > idle:
            LoggedOut().apply(conv, now.timestamp())

    async def _record(self, key: str, inbound: Inbound, replies: list[Reply], *, secret: bool, now: datetime) -> None:
        if self.transcript is None:
            return
        if secret:
            shown = REDACTED
        elif inbound.payload:
            shown = f"[кнопка] {inbound.payload}"
        else:
            shown = inbound.text or ("[поделился номером]" if inbound.vouched_phone else "")
        lines = [TranscriptLine("in", shown, inbound.message_id)]
        lines += [TranscriptLine("bot", r.text) for r in replies]
        try:
            await self.transcript.record_many(key, lines, now=now)
        except Exception:  # noqa: BLE001 - the transcript must never cost the subscriber a reply
            log.exception("could not record the transcript of %s", key)
