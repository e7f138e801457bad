"""Tariff questions: the current tariff from the balance card (verified), and a
change request for the subscriber department with the tariff named."""

from __future__ import annotations

import re

from billing.port import AccountCard
from dialogs import formatting, payloads
from dialogs.events import Event
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills.subscriber_request import start_request
from dialogs.skills.verify import with_verified_card
from dialogs.turn import Turn

router = SkillRouter("tariff")

CHANGE_WORDS = re.compile(
    r"смен|помен|измен|перейти|перевед|переход|друг\w* тариф|нов\w* тариф|дешевл|подешев|быстре|побыстр|"
    r"повыс|понизи|уменьш|какие (?:есть|у вас)|список|тарифы\b|акци|change|upgrade|cheaper|plans\b|smenit|tarify",
    re.I,
)


def wants_change(turn: Turn) -> bool:
    return turn.entity("action") == "change" or bool(CHANGE_WORDS.search(turn.parse.text))  # not the inbound: a resumed turn's is a password


@router.on(IntentIs("tariff"), wants_change)
async def change_tariff(turn: Turn, say: Responder) -> list[Event]:
    say.say("tariff.change_intro")
    return await start_request(turn, say, "tariff")


@router.on(IntentIs("tariff"))
async def current_tariff(turn: Turn, say: Responder) -> list[Event]:
    return await with_verified_card(turn, say, lambda card: _show_tariff(card, say))


async def _show_tariff(card: AccountCard, say: Responder) -> list[Event]:
    say.say(
        "tariff.current",
        account=card.number,
        tariff=card.tariff,
        fee=formatting.money(card.monthly_fee),
        next_charge=formatting.day(card.next_charge_date) if card.next_charge_date else say.text("tariff.no_next_charge"),
        buttons=[
            say.button("buttons.change_tariff", payloads.make("tariff", action="change")),
            say.button("buttons.balance", payloads.make("balance")),
            say.button("buttons.menu", payloads.MENU),
        ],
    )
    return []
