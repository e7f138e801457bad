"""Trust payment («доверительный платёж»): a verified subscriber whose balance does
not cover the next charge gets the monthly fee on credit for a few days, once a
calendar month. The billing grants it atomically; here we only explain."""

from __future__ import annotations

from billing.port import TrustOutcome
from dialogs import formatting, payloads
from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills.verify import ensure_verified
from dialogs.turn import Turn

router = SkillRouter("trust_payment")


@router.on(IntentIs("trust_payment"))
async def trust_payment(turn: Turn, say: Responder) -> list[Event]:
    start_verification = await ensure_verified(turn, say)
    if start_verification is not None:
        return start_verification
    services = turn.services
    number = turn.conversation.verified_account
    card = await services.billing.find_account(number)
    if card is None:
        say.say("balance.unavailable", service_phone=services.directory.service_line.phone)
        return []
    # Every rule (frozen, enough money, once a month) is the billing's, checked and
    # granted atomically there; here we only explain its answer.
    result = await services.billing.grant_trust_payment(number, services.trust_policy, turn.now)
    city = services.directory.city(card.city)
    menu = [say.button("buttons.how_to_pay", payloads.make("payment_methods")), say.button("buttons.menu", payloads.MENU)]

    if result.outcome is TrustOutcome.GRANTED:
        until = result.valid_until.astimezone(city.tz) if city else result.valid_until
        say.say(
            "trust.granted",
            amount=formatting.money(result.amount),
            fee=formatting.money(result.fee) if result.fee else say.text("trust.free"),
            until=f"{formatting.day(until.date())} {formatting.clock(until)}",
            city=card.city,
            days=services.trust_policy.days,
            buttons=menu,
        )
    elif result.outcome is TrustOutcome.ENOUGH_MONEY:
        say.say(
            "trust.enough_money",
            balance=formatting.money(card.balance),
            fee=formatting.money(card.monthly_fee),
            buttons=[say.button("buttons.balance", payloads.make("balance")), say.button("buttons.menu", payloads.MENU)],
        )
    elif result.outcome is TrustOutcome.ALREADY_USED:
        available = (
            formatting.day(result.available_from) if result.available_from else say.text("trust.next_month")
        )
        used = result.used_at.astimezone(city.tz) if (result.used_at and city) else result.used_at
        say.say(
            "trust.already_used",
            used=formatting.day(used.date()) if used else say.text("trust.this_month"),
            available=available,
            buttons=menu,
        )
    elif result.outcome is TrustOutcome.FROZEN:
        say.say("trust.frozen", service_phone=services.directory.service_line.phone, buttons=menu)
    else:
        say.say("balance.unavailable", service_phone=services.directory.service_line.phone)
    return []
