"""Handoff to a human: asked for, or the bot failed to understand twice in a row
(the ``after_misunderstandings`` turn policy). The conversation is queued for agents
of the city and department; while an agent holds it the bot is silent (the engine
checks). While it waits, «ну что там?» / «скоро?» (whatever the bot does not
understand) gets the place in the queue and an honest wait (``while_waiting``)."""

from __future__ import annotations

import re
from datetime import datetime

from dialogs import formatting, payloads
from dialogs.events import Event, HandoffQueued, Offered
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills import follow_up
from dialogs.skills.ask_city import ask_city_then
from dialogs.skills.offices import open_state
from dialogs.turn import Turn

router = SkillRouter("handoff")
follow_up.continued_by("operator", "city", "department")  # «а в Уфе?», «а техподдержку?»


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
    hours_note, offer = closed_note(turn, say, city_name, department)
    key = "handoff.already_waiting" if ticket.already_waiting else "handoff.queued"
    say.say(
        key,
        department=services.directory.department(department).title,
        city=city_name or say.text("handoff.any_city"),
        position=ticket.position or 1,
        eta=("\n" + eta) if (eta := expected_answer(turn, say, city_name, ticket.expected_at)) else "",
        hours_note=hours_note,
        buttons=[say.button("buttons.callback", offer), say.button("buttons.menu", payloads.MENU)],
    )
    return [HandoffQueued(), Offered(offer)] if hours_note else [HandoffQueued()]


def expected_answer(turn: Turn, say: Responder, city_name: str | None, expected_at: datetime | None) -> str:
    """When an agent is expected to answer, in the city's local time (the queue's
    measured estimate, counted in the department's hours); «» when it cannot be told."""
    city = turn.services.directory.city(city_name)
    if expected_at is None or city is None:
        return ""
    return formatting.expected_answer(say.text, expected_at, turn.now, city.tz)


def closed_note(turn: Turn, say: Responder, city_name: str | None, department: str) -> tuple[str, str]:
    """The note that the department is closed now and a call is offered instead («» when
    it is open), and the callback it offers."""
    directory = turn.services.directory
    dep, city = directory.department(department), directory.city(city_name)
    offer = payloads.make("callback", department=department)
    if city is None or dep.hours.is_open(city.local_now(turn.now)):
        return "", offer
    state = open_state(dep.hours, city.local_now(turn.now), say)
    return "\n" + say.text("handoff.closed_now", department=dep.title, state=state), offer


@router.on(IntentIs("operator"))
async def operator(turn: Turn, say: Responder) -> list[Event]:
    city = turn.known_city()
    if city is None:
        return await ask_city_then(turn, say)
    department = turn.known_department() or "subscriber"
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


# «ну что там?», «скоро?», «долго ещё ждать?», «когда ответят?»: asked while queued
# these mean the queue, whatever the NLU guesses («когда ответят» reads like a
# balance question to it).
HOW_LONG = re.compile(
    r"(\bчто\s+там\b|\bскоро\b|\bдолго\b|\bсколько\s+(ещ[её]\s+)?ждать\b|\bкогда\s+(же\s+)?(ответ|подключ|позов)\w*|"
    r"\bгде\s+(же\s+)?(все|вс[её]|ответ)\b|^\s*(ау|ну|алло|эй)\s*[?!.]*\s*$)",
    re.IGNORECASE,
)

asks_about_the_queue = SkillRouter("policy: «ну что там?» while waiting for an agent")
while_waiting = SkillRouter("policy: not understood while waiting for an agent")


def waiting_for_agent(turn: Turn) -> bool:
    return turn.conversation.awaiting_agent


def asks_how_long(turn: Turn) -> bool:
    return turn.inbound.payload is None and bool(HOW_LONG.search(turn.text))


@asks_about_the_queue.on(waiting_for_agent, asks_how_long)
@while_waiting.on(waiting_for_agent)
async def say_place_in_queue(turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event] | None:
    """Not understood while queued («ну что там?», «скоро?»): the place in the queue,
    how long it has been and when an agent is expected (the queue's measured estimate;
    no promise when there is none), and a callback offered instead of waiting. Not a
    misunderstanding."""
    handoffs = turn.services.handoffs
    record = await handoffs.current(turn.conversation.key)
    ticket = await handoffs.standing(turn.conversation.key, now=turn.now)
    if record is None or ticket is None or ticket.status != "waiting":
        return None  # taken or closed meanwhile: the usual answer
    waited = max(0, int((turn.now - record.created_at).total_seconds() // 60))
    hours_note, offer = closed_note(turn, say, record.city, record.department)
    say.say(
        "handoff.status",
        position=ticket.position,
        department=turn.services.directory.department(record.department).title,
        city=record.city or say.text("handoff.any_city"),
        waited=say.text("handoff.waited_minutes", minutes=waited) if waited else say.text("handoff.waited_just_now"),
        eta=expected_answer(turn, say, record.city, ticket.expected_at) or say.text("handoff.eta_unknown"),
        next_step=hours_note.strip() or say.text("handoff.offer_callback"),
        buttons=[say.button("buttons.callback", offer), say.button("buttons.menu", payloads.MENU)],
    )
    return [Offered(offer)]
