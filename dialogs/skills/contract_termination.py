"""«Расторгнуть договор»: how it is done (a written application at the office, from
the provider's data), and a call from the subscriber department to arrange it.
Nothing here needs a login: the application is signed in the office."""

from __future__ import annotations

from dialogs import formatting, payloads
from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills.subscriber_request import start_request
from dialogs.turn import Turn

router = SkillRouter("contract_termination")


@router.on(IntentIs("contract_termination"), lambda turn: turn.entity("action") == "request")
async def termination_call(turn: Turn, say: Responder) -> list[Event]:
    return await start_request(turn, say, "termination")


@router.on(IntentIs("contract_termination"))
async def termination(turn: Turn, say: Responder) -> list[Event]:
    steps = turn.services.directory.self_service["termination"]["steps"]
    say.say(
        "request.termination_how",
        steps=formatting.numbered(steps),
        buttons=[
            say.button("buttons.termination_call", payloads.make("contract_termination", action="request")),
            say.button("buttons.offices", payloads.make("office_hours")),
            say.button("buttons.voluntary_block", payloads.make("voluntary_block")),
        ],
    )
    return []
