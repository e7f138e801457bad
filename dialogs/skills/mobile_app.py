"""The mobile app: what it does and where to get it (reference/self_service.toml)."""

from __future__ import annotations

from dialogs import formatting, payloads
from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.forms import answered_aside
from dialogs.router import IntentIs, SkillRouter
from dialogs.turn import Turn

router = SkillRouter("mobile_app")
answered_aside("mobile_app")  # asked in the middle of a form: answered, the form goes on


@router.on(IntentIs("mobile_app"))
async def mobile_app(turn: Turn, say: Responder) -> list[Event]:
    app = turn.services.directory.self_service["app"]
    say.say(
        "app.about",
        names=app["names"],
        stores=app["stores"],
        login=app["login"],
        sections=", ".join(f"«{s}»" for s in app["sections"]),
        features=formatting.bullets(app["features"]),
        tv_app=app["tv_app"],
        buttons=[
            say.button("buttons.cabinet_login", payloads.make("cabinet_access", topic="login")),
            say.button("buttons.how_to_pay", payloads.make("payment_methods", payment_method="app")),
            say.button("buttons.menu", payloads.MENU),
        ],
    )
    return []
