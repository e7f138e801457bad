"""Greeting, the main menu, help, goodbye, and what to say when nothing fits.

Turn policies: menu and cancel leave whatever runs (``leave``), a button nobody
asked for gets the menu (``stale_button``), and what nothing understood is said so
(``not_understood``)."""

from __future__ import annotations

import re

from dialogs import payloads
from dialogs.events import Event, FormDeactivated, Misunderstood, PendingIntentSet
from dialogs.messages import Button
from dialogs.nlu.base import ParseResult
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.turn import Turn

router = SkillRouter("menu")

# A bare word that leaves whatever form is running.
CANCEL_TEXT = re.compile(r"^\s*(отмена|отменить|стоп|хватит|назад|в меню|меню|cancel|stop|menu)\s*[.!]*\s*$", re.I)


GOODBYE_WORDS = re.compile(
    r"\b(пока|покеда|до\s*свидан\w*|досвидан\w*|всего\s+(доброго|хорошего)|до\s+встречи|"
    r"хорошего\s+(дня|вечера)|доброй\s+ночи|спокойной\s+ночи|бывай\w*|прощай\w*|bye|goodbye|poka)\b",
    re.IGNORECASE,
)

THANKS_WORDS = re.compile(r"\b(спасиб\w*|спс|благодар\w*|пасиб\w*|thanks?|thx|spasibo)\b", re.IGNORECASE)


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


def says_goodbye(text: str) -> bool:
    """The NLU has one intent for thanks and goodbye (they are said alike, often
    together); the words tell which one to answer: «спасибо, пока» is a goodbye."""
    return bool(GOODBYE_WORDS.search(text))


@router.on(IntentIs("thanks_bye"))
async def thanks_bye(turn: Turn, say: Responder) -> list[Event]:
    if not says_goodbye(turn.text):
        say.say("menu.thanks")
    else:
        say.say("menu.thanks_bye" if THANKS_WORDS.search(turn.text) else "menu.bye")
    return []


@router.on(IntentIs(payloads.CANCEL))
async def cancel(turn: Turn, say: Responder) -> list[Event]:
    say.say("menu.cancelled", buttons=main_menu(say, turn))
    return [FormDeactivated(), PendingIntentSet(None)]


# -- turn policies ----------------------------------------------------------------------------
leave = SkillRouter("policy: menu and cancel")
stale_button = SkillRouter("policy: stale button")
not_understood = SkillRouter("policy: not understood")


def typed_cancel(turn: Turn) -> bool:
    """«отмена», «стоп», «меню» typed (even where a password is expected: the NLU
    never sees that text, this rule does). Text an outside NLU read keeps its reading."""
    return turn.inbound.payload is None and not turn.understood_elsewhere and bool(CANCEL_TEXT.match(turn.text))


def asks_to_leave(turn: Turn) -> bool:
    return turn.intent in (payloads.MENU, payloads.CANCEL) or typed_cancel(turn)


def no_form_waiting(turn: Turn) -> bool:
    return turn.form is None


@leave.on(asks_to_leave)
async def leave_whatever_runs(turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event]:
    if turn.intent not in (payloads.MENU, payloads.CANCEL):
        turn.parse = ParseResult(text="", intent=payloads.CANCEL, confidence=1.0)
    return await ctx.skills.dispatch(turn, say) or []


@stale_button.on(IntentIs(payloads.INFORM), no_form_waiting)
async def answer_a_stale_button(turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event]:
    """An answer to a question nobody asks any more (an old button): the menu."""
    say.say("menu.stale_button", buttons=main_menu(say, turn))
    return []


@not_understood.on()
async def say_not_understood(turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event]:
    say.say("menu.not_understood", buttons=main_menu(say, turn))
    return [Misunderstood()]
