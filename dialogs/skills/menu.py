"""Greeting, the main menu, help, goodbye, and what to say when nothing fits."""

from __future__ import annotations

from dialogs import payloads
from dialogs.events import Event, FormDeactivated, PendingIntentSet
from dialogs.messages import Button
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.turn import Turn

router = SkillRouter("menu")


def main_menu(say: Responder, turn: Turn) -> list[Button]:
    buttons = [
        say.button("buttons.balance", payloads.make("balance")),
        say.button("buttons.how_to_pay", payloads.make("payment_methods")),
        say.button("buttons.trust_payment", payloads.make("trust_payment")),
        say.button("buttons.callback", payloads.make("callback")),
        say.button("buttons.offices", payloads.make("office_hours")),
        say.button("buttons.operator", payloads.make("operator")),
    ]
    if turn.conversation.is_verified:
        buttons.append(say.button("buttons.logout", payloads.make("logout")))
    return buttons


@router.on(IntentIs("greet"))
async def greet(turn: Turn, say: Responder) -> list[Event]:
    name = turn.inbound.display_name
    say.say("menu.greet_named" if name else "menu.greet", name=name, buttons=main_menu(say, turn))
    return []


@router.on(IntentIs(payloads.MENU))
async def show_menu(turn: Turn, say: Responder) -> list[Event]:
    say.say("menu.menu", buttons=main_menu(say, turn))
    return [FormDeactivated(), PendingIntentSet(None)]


@router.on(IntentIs("help"))
async def help_(turn: Turn, say: Responder) -> list[Event]:
    say.say("menu.help", service_phone=turn.services.directory.service_line.phone, buttons=main_menu(say, turn))
    return []


@router.on(IntentIs("thanks_bye"))
async def thanks_bye(turn: Turn, say: Responder) -> list[Event]:
    say.say("menu.bye")
    return []


@router.on(IntentIs(payloads.CANCEL))
async def cancel(turn: Turn, say: Responder) -> list[Event]:
    say.say("menu.cancelled", buttons=main_menu(say, turn))
    return [FormDeactivated(), PendingIntentSet(None)]


async def not_understood(turn: Turn, say: Responder) -> list[Event]:
    say.say("menu.not_understood", buttons=main_menu(say, turn))
    return []
