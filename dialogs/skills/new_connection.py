"""«Хочу подключить интернет»: a new address or service. City, name (or company)
and phone become a request in the subscriber department's queue."""

from __future__ import annotations

from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills.subscriber_request import start_request
from dialogs.turn import Turn

router = SkillRouter("new_connection")


@router.on(IntentIs("new_connection"))
async def new_connection(turn: Turn, say: Responder) -> list[Event]:
    say.say("request.connection_intro")
    return await start_request(turn, say, "connection")
