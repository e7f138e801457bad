"""Something does not work: first aid, a hint when the account is blocked, and the
way to tech support (callback or an agent)."""

from __future__ import annotations

from billing.port import AccountStatus
from dialogs import payloads
from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.turn import Turn

router = SkillRouter("tech_issue")


@router.on(IntentIs("tech_issue"))
async def tech_issue(turn: Turn, say: Responder) -> list[Event]:
    if turn.conversation.is_verified:
        card = await turn.services.billing.find_account(turn.conversation.verified_account)
        if card is not None and card.status is AccountStatus.BLOCKED:
            say.say(
                "tech.blocked_for_debt",
                buttons=[say.button("buttons.trust_payment", payloads.make("trust_payment")),
                         say.button("buttons.how_to_pay", payloads.make("payment_methods"))],
            )
    say.say(
        "tech.first_aid",
        buttons=[
            say.button("buttons.tech_callback", payloads.make("callback", department="tech")),
            say.button("buttons.tech_operator", payloads.make("operator", department="tech")),
            say.button("buttons.menu", payloads.MENU),
        ],
    )
    return []
