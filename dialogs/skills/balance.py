"""The balance card: balance, tariff and fee, next charge, debt, status."""

from __future__ import annotations

from billing.port import AccountCard, AccountStatus
from dialogs import formatting, payloads
from dialogs.events import Event, Offered
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills.verify import with_verified_card
from dialogs.turn import Turn

router = SkillRouter("balance")

STATUS_KEYS = {
    AccountStatus.ACTIVE: "balance.status_active",
    AccountStatus.BLOCKED: "balance.status_blocked",
    AccountStatus.FROZEN: "balance.status_frozen",
}


def render_card(card: AccountCard, turn: Turn, say: Responder) -> str:
    city = turn.services.directory.city(card.city)
    lines = [
        say.text("balance.card_header", account=card.number, city=card.city),
        say.text("balance.card_balance", balance=formatting.money(card.balance)),
        say.text("balance.card_tariff", tariff=card.tariff, fee=formatting.money(card.monthly_fee)),
    ]
    if card.next_charge_date:
        lines.append(say.text("balance.card_next_charge", date=formatting.day(card.next_charge_date)))
    lines.append(
        say.text("balance.card_debt", debt=formatting.money(card.debt))
        if card.debt > 0
        else say.text("balance.card_no_debt")
    )
    lines.append(say.text(STATUS_KEYS[card.status]))
    if card.trust_payment_until and card.trust_payment_until > turn.now:
        until = card.trust_payment_until.astimezone(city.tz) if city else card.trust_payment_until
        lines.append(
            say.text("balance.card_trust_active", until=f"{formatting.day_short(until.date())} {formatting.clock(until)}")
        )
    return "\n".join(lines)


@router.on(IntentIs("balance"))
async def show_balance(turn: Turn, say: Responder) -> list[Event]:
    return await with_verified_card(turn, say, lambda card: _show_card(card, turn, say))


async def _show_card(card: AccountCard, turn: Turn, say: Responder) -> list[Event]:
    buttons = []
    shortfall = card.monthly_fee - card.balance
    text = render_card(card, turn, say)
    offers_trust = shortfall > 0 and card.status != AccountStatus.FROZEN
    if offers_trust:
        text += "\n\n" + say.text("balance.shortfall", amount=formatting.money(shortfall))
        buttons = [
            say.button("buttons.how_to_pay", payloads.make("payment_methods")),
            say.button("buttons.trust_payment", payloads.make("trust_payment")),
        ]
    else:
        buttons = [say.button("buttons.menu", payloads.MENU)]
    say.say_text(text, buttons=buttons)
    return [Offered(payloads.make("trust_payment"))] if offers_trust else []
