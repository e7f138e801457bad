"""Handoff to a human: asked for, or the bot failed to understand twice in a row
(the ``after_misunderstandings`` turn policy). The conversation is queued for agents
of the city and department; while an agent holds it the bot is silent (the engine
checks)."""

from __future__ import annotations

from dialogs import payloads
from dialogs.events import Event, HandoffQueued
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills.ask_city import ask_city_then
from dialogs.skills.offices import open_state
from dialogs.turn import Turn

router = SkillRouter("handoff")


async def queue_for_agents(turn: Turn, say: Responder, *, reason: str, city_name: str | None, department: str) -> list[Event]:
    services = turn.services
    ticket = await services.handoffs.enqueue(
        turn.conversation.key,
        turn.inbound.channel,
        city=city_name,
        department=department,
        account_number=turn.conversation.verified_account,
        reason=reason,
        now=turn.now,
    )
    dep = services.directory.department(department)
    city = services.directory.city(city_name)
    hours_note = ""
    if city is not None and not dep.hours.is_open(city.local_now(turn.now)):
        hours_note = "\n" + say.text("handoff.closed_now", department=dep.title,
                                     state=open_state(dep.hours, city.local_now(turn.now), say))
    key = "handoff.already_waiting" if ticket.already_waiting else "handoff.queued"
    say.say(
        key,
        department=dep.title,
        city=city_name or say.text("handoff.any_city"),
        position=ticket.position or 1,
        hours_note=hours_note,
        buttons=[say.button("buttons.callback", payloads.make("callback", department=department)),
                 say.button("buttons.menu", payloads.MENU)],
    )
    return [HandoffQueued()]


@router.on(IntentIs("operator"))
async def operator(turn: Turn, say: Responder) -> list[Event]:
    city = turn.known_city()
    if city is None:
        return await ask_city_then(turn, say)
    department = turn.entity("department") if turn.entity("department") in turn.services.directory.departments else "subscriber"
    return await queue_for_agents(turn, say, reason="asked", city_name=city.name, department=department)


after_misunderstandings = SkillRouter("policy: handoff after misunderstandings")


def misunderstood_once_too_often(turn: Turn) -> bool:
    """Not understood now, after ``handoff_after_misunderstandings - 1`` times in a row."""
    return turn.conversation.misunderstood_in_row + 1 >= turn.services.handoff_after_misunderstandings


@after_misunderstandings.on(misunderstood_once_too_often)
async def handoff_after_misunderstanding(turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event]:
    # No Misunderstood event: after a handoff the count starts again.
    city = turn.known_city()
    say.say("handoff.not_understood")
    return await queue_for_agents(
        turn, say, reason="not_understood", city_name=city.name if city else None, department="subscriber"
    )
