"""Follow-up questions: «а во Владивостоке?» after office hours continues the last
request with the new value (turn policy ``follow_up``)."""

from __future__ import annotations

from dialogs.events import Event
from dialogs.nlu.base import ParseResult
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.router import FilterResult, SkillRouter
from dialogs.turn import Turn

# Which earlier requests a message carrying only this entity continues.
FOLLOW_UP_INTENTS = {
    "city": ("office_hours", "operator"),
    "payment_method": ("payment_methods",),
    "department": ("callback", "operator"),
}

follow_up = SkillRouter("policy: follow-up question")


def continues_last_request(turn: Turn) -> FilterResult:
    """Hands the last request on as ``last_intent`` when every entity of this message
    is one that request takes."""
    last = turn.conversation.last_intent
    if not last or not turn.parse.entities:
        return False
    if all(last in FOLLOW_UP_INTENTS.get(name, ()) for name in turn.parse.entities):
        return {"last_intent": last}
    return False


@follow_up.on(continues_last_request)
async def answer_follow_up(turn: Turn, say: Responder, ctx: PolicyContext, last_intent: str) -> list[Event] | None:
    turn.parse = ParseResult(text=turn.parse.text, intent=last_intent, confidence=1.0, entities=turn.parse.entities)
    return await ctx.answer(turn, say)
