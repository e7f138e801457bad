"""Safe use of the cabinet: password rules, the secure connection, payments without
commission through the payment processor (reference/self_service.toml)."""

from __future__ import annotations

from dialogs import formatting, payloads
from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.forms import answered_aside
from dialogs.router import IntentIs, SkillRouter
from dialogs.turn import Turn

router = SkillRouter("security")
answered_aside("security")  # asked in the middle of a form: answered, the form goes on


@router.on(IntentIs("security"))
async def security(turn: Turn, say: Responder) -> list[Event]:
    facts = turn.services.directory.self_service["security"]
    say.say(
        "security.rules",
        password_rules=formatting.bullets(facts["password_rules"]),
        connection=facts["connection"],
        payments=facts["payments"],
        privacy=facts["privacy"],
        buttons=[
            say.button("buttons.cabinet_restore", payloads.make("cabinet_access", topic="restore")),
            say.button("buttons.how_to_pay", payloads.make("payment_methods", payment_method="cabinet")),
            say.button("buttons.menu", payloads.MENU),
        ],
    )
    return []
