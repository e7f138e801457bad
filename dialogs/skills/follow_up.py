"""Follow-up questions: «а во Владивостоке?» after office hours, «а в воскресенье?»
after office hours, «а картой?» after payment methods continue the last request with
the new value (turn policy ``follow_up``).

Each skill says which entities continue it (``continued_by`` beside the skill), so a
new skill extends the table without touching this module. Besides the NLU's
entities a follow-up may name a ``day`` («а в воскресенье?», «а завтра?»), read with
``dialogs.timeexpr`` on the calendar of the city the conversation is about.
"""

from __future__ import annotations

from datetime import datetime, timezone

from dialogs.events import Event
from dialogs.nlu.base import ParseResult
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.router import FilterResult, SkillRouter
from dialogs.timeexpr import parse_date
from dialogs.turn import Turn

# entity → the earlier requests a message carrying only such entities continues.
_CONTINUES: dict[str, set[str]] = {}


def continued_by(intent: str, *entities: str) -> None:
    """Register: a message naming only ``entities`` after ``intent`` continues it."""
    for name in entities:
        _CONTINUES.setdefault(name, set()).add(intent)


def continuations(entity: str) -> frozenset[str]:
    """The requests a message naming ``entity`` may continue."""
    return frozenset(_CONTINUES.get(entity, ()))


def local_today(turn: Turn) -> datetime:
    city = turn.known_city()
    return city.local_now(turn.now) if city else turn.now.astimezone(timezone.utc)


def day_named(turn: Turn) -> str | None:
    """The day a short follow-up names, as an ISO date in the city's calendar."""
    if not turn.parse.text:
        return None
    day = parse_date(turn.parse.text, local_today(turn).date())
    return day.isoformat() if day else None


def entities_of(turn: Turn) -> dict[str, str]:
    entities = dict(turn.parse.entities)
    if "day" not in entities:
        day = day_named(turn)
        if day is not None:
            entities["day"] = day
    return entities


follow_up = SkillRouter("policy: follow-up question")


def continues_last_request(turn: Turn) -> FilterResult:
    """Hands the last request on as ``last_intent`` (and the entities read) when every
    entity of this message is one that request takes."""
    last = turn.conversation.last_intent
    if not last:
        return False
    entities = entities_of(turn)
    if entities and all(last in continuations(name) for name in entities):
        return {"last_intent": last, "entities": entities}
    return False


@follow_up.on(continues_last_request)
async def answer_follow_up(
    turn: Turn, say: Responder, ctx: PolicyContext, last_intent: str, entities: dict[str, str]
) -> list[Event] | None:
    turn.parse = ParseResult(text=turn.parse.text, intent=last_intent, confidence=1.0, entities=entities)
    return await ctx.answer(turn, say)
