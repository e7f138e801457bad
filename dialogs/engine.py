"""The dialog engine: one ``Inbound`` in, a ``TurnResult`` out.

The loop of one turn: the gate (one turn at a time per conversation — across
processes with Redis —, a re-delivered channel message gets the stored replies and
no second effect, a rate limit), the conversation state, reading the message, then
the turn policies in order (dialogs/policies.py; each beside its skill), applying
the events they return, saving the state and the transcript. The engine never looks
at the channel: adapters render the replies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

from dialogs import memory, payloads
from dialogs.conversation import Conversation, ConversationStore
from dialogs.events import Event, FormSubmitted, Misunderstood, SecretReceived
from dialogs.forms import Form, answer_pending
from dialogs.gate import GateTurn, TurnGate
from dialogs.messages import Inbound, Reply, TurnResult
from dialogs.nlu.base import ParseResult
from dialogs.policies import PolicyContext, decide
from dialogs.responder import Responder
from dialogs.router import SkillRouter
from dialogs.skills import FORMS, build_root_router, build_turn_policies
from dialogs.state.base import StateStore, TurnRefused
from dialogs.texts.catalog import TextCatalog
from dialogs.turn import Services, Turn
from dispatcher.handoff_marks import HandoffMarks, Queued
from dispatcher.transcript import TranscriptLine
from storage.clock import utc_now

log = logging.getLogger(__name__)

REDACTED = "•••••• (скрыто)"


class Understander(Protocol):
    def parse(self, text: str) -> ParseResult: ...


class TranscriptLog(Protocol):
    async def record_many(
        self,
        conversation_key: str,
        lines: list,
        *,
        now: datetime | None = None,
        turn: str | None = None,
        queued: bool | None = None,
    ) -> None: ...


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
        store: StateStore,
        texts: TextCatalog | None = None,
        transcript: TranscriptLog | None = None,
        clock: Callable[[], datetime] = utc_now,
        limits: EngineLimits = EngineLimits(),
        router: SkillRouter | None = None,
        policies: SkillRouter | None = None,
        forms: dict[str, Form] | None = None,
        handoff_marks: HandoffMarks | None = None,
    ) -> None:
        self.services = services
        self.nlu = nlu
        self.texts = texts or TextCatalog()
        self.transcript = transcript
        self.clock = clock
        self.limits = limits
        self.router = router or build_root_router()
        self.policies = policies or build_turn_policies()
        self.forms = forms if forms is not None else FORMS
        # Which conversations were ever queued for agents (None: ask the database).
        self.handoff_marks = handoff_marks
        self.conversations = ConversationStore(store, ttl_seconds=limits.state_ttl_seconds)
        self.gate = TurnGate(
            store,
            dedup_ttl_seconds=limits.dedup_ttl_seconds,
            lock_timeout_seconds=limits.lock_timeout_seconds,
            lock_wait_seconds=limits.lock_wait_seconds,
            messages_per_minute=limits.messages_per_minute,
        )

    # -- the public entry point ------------------------------------------------------------
    async def handle(self, inbound: Inbound, *, understood: ParseResult | None = None) -> TurnResult:
        """Answer one message. ``understood``: what an external NLU (a Rasa server
        calling our action server) made of it; otherwise our own NLU reads it.

        Never raises for a failure behind it (database, Redis, a bug in a skill): the
        subscriber gets an apology with the phone number, the log gets the error (not
        the message), and nothing is remembered, so sending again retries."""
        try:
            return await self._handle(inbound, understood)
        except TurnRefused:
            return TurnResult(refused=True)  # the channel says why; nothing happened
        except Exception:  # noqa: BLE001 - a subscriber never sees a stack trace
            log.exception("turn failed on %s (message %s)", inbound.channel, inbound.message_id)
            say = Responder(self.texts)
            say.say("menu.technical_error", service_phone=self.services.directory.service_line.phone)
            return TurnResult(replies=say.replies)

    async def _handle(self, inbound: Inbound, understood: ParseResult | None) -> TurnResult:
        # The gate reads (and at the end writes) the conversation too: one StateStore
        # step at each end of the turn.
        marks = self.handoff_marks
        also_read = marks.keys(inbound.conversation_key) if marks is not None else ()
        async with self.gate.enter(inbound, self.conversations, also_read=also_read) as gate:
            if gate.seen is not None:
                return gate.seen
            if gate.too_fast:
                say = Responder(self.texts)
                say.say("menu.too_fast")
                return TurnResult(replies=say.replies)  # not stored: a retry later is a new try
            result = await self._handle_locked(inbound, understood, gate)
            gate.remember(result)
            return result

    # -- one turn ------------------------------------------------------------------------------
    async def _handle_locked(self, inbound: Inbound, understood: ParseResult | None, gate: GateTurn) -> TurnResult:
        now = self.clock()
        key = inbound.conversation_key
        stored = gate.conversation
        conv = stored or Conversation(key=key)
        # Only a conversation queued for agents can be held by one: the database is
        # asked for those, not on every turn — nor for a new conversation the
        # handoff marks (read with the state) say was never queued. Without complete
        # marks (the store lost its data) it is asked, and the marks are rebuilt.
        if conv.awaiting_agent or (stored is None and self._maybe_queued(gate)):
            handoff = await self.services.handoffs.current(key)
            await self._refresh_marks_if_lost(gate)
            conv.awaiting_agent = handoff is not None
            if handoff is not None and handoff.status == "assigned":
                # An agent holds the conversation: the bot is silent; the agent sees it.
                # (A «да» later answers the agent, never an offer the bot made before.)
                conv.offer = None
                gate.save(conv)
                await self._record(key, inbound, [], secret=False, now=now, queued=True)
                return TurnResult(held_by_agent=True)

        form = self.forms.get(conv.active_form) if conv.active_form else None
        awaiting_secret = form is not None and conv.requested_slot in form.secret_slots
        if understood is not None and not awaiting_secret and not inbound.payload:
            parse, understood_elsewhere = understood, True
        else:
            parse, understood_elsewhere = self._understand(inbound, awaiting_secret), False
        turn = Turn(inbound=inbound, parse=parse, conversation=conv, services=self.services, now=now, form=form,
                    understood_elsewhere=understood_elsewhere)
        say = Responder(self.texts)

        events = await decide(self.policies, turn, say, PolicyContext(self.router, self.limits.min_confidence))
        # What the subscriber named is remembered whichever policy answered (first:
        # what the skills set, e.g. the verified account's city, comes after and wins).
        events = memory.named_in(parse, self.services.directory) + events
        secret = awaiting_secret and inbound.text is not None and inbound.payload is None
        if secret:
            events.append(SecretReceived())
        self._apply(conv, events, now)

        if any(isinstance(e, FormSubmitted) for e in events) and conv.pending_intent and conv.active_form is None:
            self._apply(conv, await answer_pending(turn, say, self.router), now)

        conv.last_seen = now.timestamp()
        gate.save(conv)
        await self._record(key, inbound, say.replies, secret=secret, now=now, queued=conv.awaiting_agent)
        return TurnResult(replies=say.replies, inbound_was_secret=secret, intent=turn.intent)

    def _maybe_queued(self, gate: GateTurn) -> bool:
        if self.handoff_marks is None:
            return True
        return self.handoff_marks.verdict(gate.also) is not Queued.NEVER

    async def _refresh_marks_if_lost(self, gate: GateTurn) -> None:
        if self.handoff_marks is not None and self.handoff_marks.verdict(gate.also) is Queued.UNKNOWN:
            await self.handoff_marks.refresh()

    def _understand(self, inbound: Inbound, awaiting_secret: bool) -> ParseResult:
        if inbound.payload:
            parsed = payloads.parse(inbound.payload)
            return parsed or ParseResult(text="", intent="out_of_scope", confidence=0.0)
        text = (inbound.text or "").strip()
        if awaiting_secret:
            # A password is never shown to the NLU (nor logged); the menu's cancel
            # policy still reads «отмена».
            return ParseResult(text="", intent=payloads.INFORM, confidence=1.0)
        if not text:
            if inbound.vouched_phone:
                return ParseResult(text="", intent=payloads.INFORM, confidence=1.0, entities={"phone": inbound.vouched_phone})
            return ParseResult(text="", intent="out_of_scope", confidence=0.0)
        return self.nlu.parse(text[:1000])

    def _apply(self, conv: Conversation, events: list[Event], now: datetime) -> None:
        stamp = now.timestamp()
        misunderstood = False
        for event in events:
            event.apply(conv, stamp)
            misunderstood = misunderstood or isinstance(event, Misunderstood)
        if not misunderstood:
            conv.misunderstood_in_row = 0
        memory.forget_unanswered_offer(conv, events)

    async def _record(
        self, key: str, inbound: Inbound, replies: list[Reply], *, secret: bool, now: datetime, queued: bool
    ) -> None:
        """``queued``: whether the conversation waits in (or is held from) the handoff
        queue, as this turn knows it — a transcript that shows queued conversations to
        agents live then needs no lookup of its own for the others."""
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
            # turn: a message processed again after a crash replaces its lines, not doubles them.
            await self.transcript.record_many(key, lines, now=now, turn=inbound.message_id, queued=queued)
        except Exception:  # noqa: BLE001 - the transcript must never cost the subscriber a reply
            log.exception("could not record the transcript of %s", key)
