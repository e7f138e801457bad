"""Turn policies: the rules that decide how a turn is answered around the skills —
leave with «отмена», log in with a shared phone, answer the waiting form, a stale
button, a follow-up question, a handoff after misunderstandings.

Each policy is a small ``SkillRouter`` beside the skill it belongs to; its handler
gets ``(turn, say, ctx)`` and answers (returns events) or passes the turn on (None).
``dialogs.skills.build_turn_policies`` puts them in order; the engine runs them after
it has loaded the conversation and read the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dialogs.events import Event, LastIntent
from dialogs.nlu.base import ParseResult
from dialogs.responder import Responder
from dialogs.router import SkillRouter
from dialogs.turn import Turn


@dataclass
class PolicyContext:
    """What the policies of one turn share besides the turn."""

    skills: SkillRouter
    min_confidence: float  # below this the NLU's guess counts as "not understood"
    # Events of a policy that acted and passed the turn on (e.g. left a form).
    carried: list[Event] = field(default_factory=list)

    def confident(self, parse: ParseResult) -> bool:
        return parse.intent != "out_of_scope" and parse.confidence >= self.min_confidence

    def carry(self, *events: Event) -> None:
        self.carried.extend(events)

    async def answer(self, turn: Turn, say: Responder) -> list[Event] | None:
        """The skill for ``turn.intent`` answers it (and it becomes the last request);
        None when no skill takes it."""
        events = await self.skills.dispatch(turn, say)
        return None if events is None else events + [LastIntent(turn.intent)]


async def decide(policies: SkillRouter, turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event]:
    """Run the policies in order: the events of the first that answers, after those
    the ones before it carried."""
    answered = await policies.dispatch(turn, say, ctx=ctx)
    return ctx.carried + (answered or [])


skills = SkillRouter("policy: the skills")


@skills.on()
async def answer_with_skills(turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event] | None:
    """The NLU is sure enough: the skill for the intent answers."""
    return await ctx.answer(turn, say) if ctx.confident(turn.parse) else None
