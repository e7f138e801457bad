"""Our skills as Rasa custom actions: one ``EngineAction`` per intent the engine
answers, plus ``action_isp_continue`` for answers in the middle of our forms.

An action turns the latest user message into an ``Inbound`` (channel ``"rasa"``)
and what Rasa understood into a ``ParseResult``, lets ``DialogEngine.handle`` answer,
and utters the replies. The engine keeps the conversation state; Rasa only hears
which account is verified (slot ``isp_verified_account``). A password never leaves
the engine: replies do not repeat it, events carry only the account number, and
nothing here logs message text.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from dialogs import payloads
from dialogs.engine import DialogEngine
from dialogs.messages import Inbound, TurnResult
from dialogs.nlu.base import INTENTS, ParseResult
from bots.rasa.tracker import RasaMessage, normalize_entities, rasa_buttons, read_latest_message

log = logging.getLogger(__name__)

CHANNEL = "rasa"
VERIFIED_SLOT = "isp_verified_account"
CONTINUE_ACTION = "action_isp_continue"
# Small talk and the fallback: a provider's Rasa assistant answers those itself.
RASA_OWN_INTENTS = ("greet", "thanks_bye", "out_of_scope")
# The intents a provider's stories can ask for by name: every other one of ours.
ANSWERED_INTENTS = tuple(intent for intent in INTENTS if intent not in RASA_OWN_INTENTS)
# action name → the intent it answers; None: whatever Rasa understood.
ACTION_INTENTS: dict[str, str | None] = {f"action_isp_{intent}": intent for intent in ANSWERED_INTENTS}
ACTION_INTENTS[CONTINUE_ACTION] = None

FAILURE_TEXT = (
    "Извините, сейчас не получается ответить. Попробуйте ещё раз через пару минут "
    "или позвоните по номеру {phone}."
)

# Rasa's ids are free-form; ours end up in columns of 100 (message id) and 200
# (conversation key) characters. Longer ones are replaced by their digest.
MAX_MESSAGE_ID = 100
MAX_SENDER_ID = 190

EngineSource = Callable[[], DialogEngine]


def _bounded(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


class EngineAction(Action):
    """A Rasa custom action answered by the dialog engine."""

    def __init__(self, action_name: str, intent: str | None, engine: EngineSource) -> None:
        if intent is not None and intent not in INTENTS:
            raise ValueError(f"unknown intent {intent!r}")
        self._name = action_name
        self.intent = intent
        self._engine = engine

    def name(self) -> str:
        return self._name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        engine = self._engine()
        try:
            message = read_latest_message(tracker.latest_message, tracker.events)
            inbound, understood = self._to_engine(engine, tracker.sender_id, message)
            result = await engine.handle(inbound, understood=understood)
            events = await self._slot_events(engine, inbound.conversation_key, tracker)
        except Exception:  # noqa: BLE001 - the subscriber gets an apology, Rasa a clean answer
            # rasa-sdk's own error answer would echo the request (with the user's
            # text, maybe a password) back to Rasa: answer here instead.
            log.exception("Rasa action %s failed", self._name)
            dispatcher.utter_message(text=FAILURE_TEXT.format(phone=engine.services.directory.service_line.phone))
            return []
        self._utter(dispatcher, result)
        return events

    # -- Rasa → engine -------------------------------------------------------------------------
    def _to_engine(
        self, engine: DialogEngine, sender_id: str, message: RasaMessage
    ) -> tuple[Inbound, ParseResult | None]:
        # One Rasa message may run several of our actions: each is its own turn, and a
        # retry of the same action for the same message is answered from the engine's
        # de-duplication store.
        message_id = _bounded(f"{message.message_id}:{self._name}", MAX_MESSAGE_ID) if message.message_id else None
        user_id = _bounded(sender_id, MAX_SENDER_ID)
        if message.button:
            payload = payloads.make(self.intent or message.intent or "", **message.entities)
            return Inbound(channel=CHANNEL, user_id=user_id, message_id=message_id, payload=payload), None
        inbound = Inbound(channel=CHANNEL, user_id=user_id, message_id=message_id, text=message.text)
        return inbound, self._understood(engine, message)

    def _understood(self, engine: DialogEngine, message: RasaMessage) -> ParseResult | None:
        """What Rasa made of typed text, for the engine. None: an intent we do not know
        (``inform``, ``nlu_fallback``, the provider's own): our NLU reads the text then
        (and, as for every channel, never a password)."""
        intent = self.intent or message.intent
        if intent not in INTENTS:
            return None
        # An action Rasa chose by name is sure of its intent. Typed text stays typed text
        # (``Inbound.via``): an open form still gets the first look, e.g. an account
        # number typed while Rasa predicted action_isp_verify.
        confidence = 1.0 if self.intent else message.confidence
        entities = normalize_entities(message.entities, engine.services.directory, engine.nlu)
        return ParseResult(text=message.text or "", intent=intent, confidence=confidence, entities=entities)

    # -- engine → Rasa -------------------------------------------------------------------------
    @staticmethod
    def _utter(dispatcher: CollectingDispatcher, result: TurnResult) -> None:
        if result.held_by_agent:
            return  # an agent holds the conversation: the bot says nothing
        # A duplicate (Rasa retrying after a lost answer) is uttered again: Rasa did not
        # get the first answer.
        for reply in result.replies:
            dispatcher.utter_message(text=reply.text, buttons=rasa_buttons(reply.buttons))

    @staticmethod
    async def _slot_events(engine: DialogEngine, conversation_key: str, tracker: Tracker) -> list[dict[str, Any]]:
        """Tell Rasa which account is verified, when that changed (verified, logged out)."""
        conversation = await engine.conversations.load(conversation_key)
        account = conversation.verified_account
        if (tracker.slots or {}).get(VERIFIED_SLOT) == account:
            return []
        return [SlotSet(VERIFIED_SLOT, account)]

    def __repr__(self) -> str:
        return f"EngineAction({self._name!r}, intent={self.intent!r})"


def build_actions(engine: EngineSource) -> list[EngineAction]:
    return [EngineAction(name, intent, engine) for name, intent in ACTION_INTENTS.items()]


def executor_for(engine: EngineSource) -> ActionExecutor:
    """An executor whose actions ask ``engine()`` for the engine on every call (the
    server builds it only once its loop runs)."""
    executor = ActionExecutor()
    for action in build_actions(engine):
        executor.register_action(action)
    return executor


def build_action_executor(engine: DialogEngine) -> ActionExecutor:
    """rasa-sdk's executor with every ``action_isp_*`` action answered by ``engine``."""
    return executor_for(lambda: engine)
