"""A bare «да» / «нет» answering the offer of the last reply («Подключить
доверительный платёж?», «Хотите, перезвоним?»).

A skill that ends its reply with an offer returns ``Offered(payload)`` — the payload
of the button that does it; the engine keeps it for the next turn only. The turn
policy ``yes_or_no`` turns «да» into that payload (as if the button were pressed)
and «нет» into a polite «хорошо»; with nothing offered it passes the turn on (the
menu's "not understood" answers a «да» out of the blue, as before).
"""

from __future__ import annotations

import re

from dialogs import payloads
from dialogs.events import Event
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.router import SkillRouter
from dialogs.skills.menu import main_menu
from dialogs.turn import Turn

_END = r"\s*[.!)]*\s*$"
# Explicit consent only: «ок» or «хорошо» often just acknowledge what was said, and a
# «да» may take a trust payment on credit.
YES = re.compile(
    r"^\s*(да|ага|угу|yes|конечно|давайте|давай|можно|хочу|"
    r"да,?\s+(давайте|пожалуйста|конечно|хочу|можно|нужно|надо)|давайте,?\s+пожалуйста|да\s+да)" + _END,
    re.IGNORECASE,
)
NO = re.compile(
    r"^\s*(нет|неа|no|nope|не\s+надо|не\s+нужно|не\s+хочу|не\s+стоит|нет,?\s+спасибо|нет,?\s+не\s+(надо|нужно)|"
    r"спасибо,?\s+не\s+(надо|нужно))" + _END,
    re.IGNORECASE,
)

yes_or_no = SkillRouter("policy: yes or no to an offer")


def answer_to_offer(turn: Turn) -> dict | bool:
    """«да» / «нет» typed (not a button) right after a reply that offered something."""
    offer = turn.conversation.offer
    if not offer or turn.inbound.payload is not None or turn.form is not None:
        return False
    if YES.match(turn.text):
        return {"accepted": True, "offer": offer}
    if NO.match(turn.text):
        return {"accepted": False, "offer": offer}
    return False


@yes_or_no.on(answer_to_offer)
async def accept_or_decline(turn: Turn, say: Responder, ctx: PolicyContext, accepted: bool, offer: str) -> list[Event] | None:
    if not accepted:
        say.say("menu.declined", buttons=main_menu(say, turn))
        return []
    parsed = payloads.parse(offer)
    if parsed is None:  # an offer this engine no longer understands (after an upgrade)
        return None
    turn.parse = parsed
    return await ctx.answer(turn, say)
