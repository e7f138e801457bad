"""How to pay: all methods, or step by step for the one asked about."""

from __future__ import annotations

from dialogs import payloads
from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.forms import answered_aside
from dialogs.router import HasEntity, IntentIs, SkillRouter
from dialogs.skills import follow_up
from dialogs.turn import Turn

router = SkillRouter("payments")
follow_up.continued_by("payment_methods", "payment_method")  # «а картой?»
answered_aside("payment_methods")  # «где ближайший терминал?» while a form waits


@router.on(IntentIs("payment_methods"), HasEntity("payment_method"))
async def explain_method(turn: Turn, say: Responder, payment_method: str) -> list[Event]:
    method = turn.services.directory.payment_method(payment_method)
    if method is None:
        return await list_methods(turn, say)
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(method.steps, 1))
    account_hint = (
        say.text("payments.your_account", account=turn.conversation.verified_account)
        if turn.conversation.is_verified
        else ""
    )
    say.say(
        "payments.method",
        title=method.title,
        steps=steps,
        commission=say.text("payments.no_commission" if method.commission_free else "payments.commission"),
        account_hint=account_hint,
        buttons=[
            say.button("buttons.other_methods", payloads.make("payment_methods")),
            say.button("buttons.menu", payloads.MENU),
        ],
    )
    return []


@router.on(IntentIs("payment_methods"))
async def list_methods(turn: Turn, say: Responder) -> list[Event]:
    methods = turn.services.directory.payment_methods
    say.say(
        "payments.list",
        methods="\n".join(f"• {m.title}" for m in methods),
        buttons=[
            say.button("buttons.payment_method", payloads.make("payment_methods", payment_method=m.id), title=m.title)
            for m in methods
        ],
    )
    return []
