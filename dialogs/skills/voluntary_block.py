"""Voluntary block («добровольная блокировка»), e.g. for a holiday: a verified
subscriber pauses the account from a date for a number of days within the
provider's limits, sees what it costs and when the services return, and can lift
it early. The billing applies the rules atomically; here we ask and explain."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from billing.port import AccountCard, AccountStatus, BlockOutcome, BlockPolicy, VoluntaryBlock
from dialogs import formatting, payloads
from dialogs.events import Event
from dialogs.forms import Form, FormAborted, is_new_request
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.skills.verify import say_billing_unavailable, with_verified_card
from dialogs.timeexpr import parse_date, parse_days
from dialogs.turn import Turn

router = SkillRouter("voluntary_block")

LIFT_WORDS = re.compile(r"сня|сним|сними|снять|разбл|размор|отмен\w* блок|досрочн|верн\w*|включ\w* обратно|unfreeze|snyat", re.I)
YES = re.compile(r"^\s*(да|ага|угу|подтвер\w*|верно|всё верно|все верно|ок|окей|хорошо|давайте|yes|ok)\b", re.I)
NO = re.compile(r"^\s*(нет|не надо|не нужно|передумал\w*|no)\b", re.I)
DAY_BUTTONS = (7, 14, 30)

REFUSALS = {
    BlockOutcome.TOO_SHORT: "block.too_short",
    BlockOutcome.TOO_LONG: "block.too_long",
    BlockOutcome.START_IN_PAST: "block.start_in_past",
    BlockOutcome.START_TOO_FAR: "block.start_too_far",
    BlockOutcome.BLOCKED_FOR_DEBT: "block.blocked_for_debt",
    BlockOutcome.NOT_ENOUGH_MONEY: "block.not_enough_money",
}


def _tz(turn: Turn, slots: dict):
    city = turn.services.directory.city(slots.get("city"))
    return city.tz if city else None


def _today(turn: Turn, slots: dict) -> date:
    tz = _tz(turn, slots)
    return (turn.now.astimezone(tz) if tz else turn.now).date()


def _policy(turn: Turn) -> BlockPolicy:
    return turn.services.billing.voluntary_block_policy()


def _local_day(moment: datetime, turn: Turn, city: str | None) -> date:
    place = turn.services.directory.city(city)
    return (moment.astimezone(place.tz) if place else moment).date()


class VoluntaryBlockForm(Form):
    name = "voluntary_block"
    slots = ("start_on", "days", "confirm")

    # -- the first day ----------------------------------------------------------------------
    def extract_start_on(self, turn: Turn, requested: bool) -> Any:
        if turn.entity("start_on"):
            return turn.entity("start_on")
        if not turn.parse.text or (requested and is_new_request(turn)):
            return None
        if requested or re.search(r"\bс\s|\bсо\s|\bначиная|\bот\s", turn.parse.text.lower()):
            return turn.parse.text  # read (and explained if unreadable) below
        return None

    async def validate_start_on(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        today = _today(turn, slots)
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = parse_date(value, today)
        if day is None:
            say.say("block.date_not_understood")
            return None
        policy = _policy(turn)
        if day < today:
            say.say("block.start_in_past")
            return None
        if (day - today).days > policy.max_days_ahead:
            say.say("block.start_too_far", days=policy.max_days_ahead)
            return None
        return {"start_on": day.isoformat()}

    async def ask_start_on(self, turn: Turn, say: Responder, slots: dict) -> None:
        today = _today(turn, slots)
        say.say(
            "block.ask_start",
            buttons=[
                say.button("buttons.block_today", payloads.make(payloads.INFORM, start_on=today.isoformat())),
                say.button("buttons.block_tomorrow", payloads.make(payloads.INFORM, start_on=(today + timedelta(days=1)).isoformat())),
                say.button("buttons.cancel", payloads.CANCEL),
            ],
        )

    # -- how many days ------------------------------------------------------------------------
    def extract_days(self, turn: Turn, requested: bool) -> Any:
        if turn.entity("days"):
            return turn.entity("days")
        if not turn.parse.text or (requested and is_new_request(turn)):
            return None
        days = parse_days(turn.parse.text)
        if days is None and requested:
            return turn.parse.text  # explained below
        return days

    async def validate_days(self, value: Any, turn: Turn, say: Responder, slots: dict) -> dict | None:
        days = int(value) if str(value).isdigit() else parse_days(str(value))
        policy = _policy(turn)
        if days is None:
            say.say("block.days_not_understood", min=policy.min_days, max=policy.max_days)
            return None
        if not policy.min_days <= days <= policy.max_days:
            say.say("block.days_out_of_range", min=policy.min_days, max=policy.max_days)
            return None
        return {"days": days}

    async def ask_days(self, turn: Turn, say: Responder, slots: dict) -> None:
        policy = _policy(turn)
        choices = [d for d in DAY_BUTTONS if policy.min_days <= d <= policy.max_days]
        say.say(
            "block.ask_days",
            min=policy.min_days,
            max=policy.max_days,
            buttons=[say.button("buttons.block_days", payloads.make(payloads.INFORM, days=str(d)), days=d) for d in choices]
            + [say.button("buttons.cancel", payloads.CANCEL)],
        )

    # -- what it costs, and confirmation ---------------------------------------------------------
    def extract_confirm(self, turn: Turn, requested: bool) -> Any:
        if turn.entity("confirm"):
            return turn.entity("confirm")
        if not requested:
            return None
        if YES.search(turn.text):
            return "yes"
        if NO.search(turn.text):
            return "no"
        return None

    async def validate_confirm(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        if value != "yes":
            say.say("block.not_placed", buttons=[say.button("buttons.menu", payloads.MENU)])
            raise FormAborted
        return {"confirm": "yes"}

    async def ask_confirm(self, turn: Turn, say: Responder, slots: dict) -> None:
        policy = _policy(turn)
        start = date.fromisoformat(slots["start_on"])
        days = int(slots["days"])
        fee = policy.fee_for(days)
        say.say(
            "block.summary",
            start=formatting.day(start),
            last=formatting.day(start + timedelta(days=days - 1)),
            days=days,
            returns=formatting.day(start + timedelta(days=days)),
            fee=formatting.money(fee) if fee else say.text("block.free"),
            buttons=[
                say.button("buttons.block_confirm", payloads.make(payloads.INFORM, confirm="yes")),
                say.button("buttons.cancel", payloads.make(payloads.INFORM, confirm="no")),
            ],
        )

    # -- placing -------------------------------------------------------------------------------------
    async def submit(self, turn: Turn, say: Responder, slots: dict) -> list[Event]:
        billing = turn.services.billing
        number = turn.conversation.verified_account
        if number is None:  # logged out meanwhile (idle): nothing to block
            say.say("block.not_placed", buttons=[say.button("buttons.menu", payloads.MENU)])
            return []
        result = await billing.place_voluntary_block(
            number, date.fromisoformat(slots["start_on"]), int(slots["days"]), turn.now, actor=turn.conversation.key
        )
        if result.outcome is BlockOutcome.PLACED:
            say_block(result.block, "block.placed", turn, say, slots.get("city"))
        elif result.outcome is BlockOutcome.ALREADY_BLOCKED:
            say_current(result.block, turn, say, slots.get("city"))
        elif result.outcome in REFUSALS:
            policy = _policy(turn)
            say.say(
                REFUSALS[result.outcome],
                min=policy.min_days,
                max=policy.max_days,
                days=policy.max_days_ahead,
                fee=formatting.money(policy.fee_for(int(slots["days"]))),
                buttons=[say.button("buttons.menu", payloads.MENU)],
            )
        else:
            say_billing_unavailable(turn, say)
        return []


VOLUNTARY_BLOCK_FORM = VoluntaryBlockForm()


def _lift_button(say: Responder):
    return say.button("buttons.block_lift", payloads.make("voluntary_block", action="lift"))


def say_block(block: VoluntaryBlock, key: str, turn: Turn, say: Responder, city: str | None) -> None:
    say.say(
        key,
        start=formatting.day(_local_day(block.starts_at, turn, city)),
        returns=formatting.day(_local_day(block.ends_at, turn, city)),
        days=block.days,
        fee=formatting.money(block.fee) if block.fee else say.text("block.free"),
        buttons=[_lift_button(say), say.button("buttons.menu", payloads.MENU)],
    )


def say_current(block: VoluntaryBlock | None, turn: Turn, say: Responder, city: str | None) -> None:
    if block is None:  # frozen by the provider, not by a block of ours
        say.say("block.frozen_otherwise", service_phone=turn.services.directory.service_line.phone)
        return
    say_block(block, "block.current", turn, say, city)


def wants_lift(turn: Turn) -> bool:
    return turn.entity("action") == "lift" or bool(LIFT_WORDS.search(turn.parse.text))


@router.on(IntentIs("voluntary_block"))
async def voluntary_block(turn: Turn, say: Responder) -> list[Event]:
    return await with_verified_card(turn, say, lambda card: _block_or_lift(card, turn, say))


async def _block_or_lift(card: AccountCard, turn: Turn, say: Responder) -> list[Event]:
    billing = turn.services.billing
    number = turn.conversation.verified_account
    if wants_lift(turn):
        result = await billing.lift_voluntary_block(number, turn.now, actor=turn.conversation.key)
        if result.outcome is BlockOutcome.LIFTED:
            say.say(
                "block.lifted",
                refund=formatting.money(result.refund) if result.refund else say.text("block.no_refund"),
                buttons=[say.button("buttons.balance", payloads.make("balance")), say.button("buttons.menu", payloads.MENU)],
            )
        elif card.status is AccountStatus.BLOCKED:
            # «разблокируйте» from a subscriber cut off for debt: not ours to lift.
            say.say(
                "block.debt_not_voluntary",
                buttons=[
                    say.button("buttons.how_to_pay", payloads.make("payment_methods")),
                    say.button("buttons.trust_payment", payloads.make("trust_payment")),
                ],
            )
        else:
            say.say("block.nothing_to_lift", buttons=[say.button("buttons.menu", payloads.MENU)])
        return []
    current = await billing.voluntary_block(number, turn.now)
    if current is not None:
        say_current(current, turn, say, card.city)
        return []
    policy = billing.voluntary_block_policy()
    fee = policy.fee_for(1)
    say.say(
        "block.intro",
        min=policy.min_days,
        max=policy.max_days,
        ahead=policy.max_days_ahead,
        fee=say.text("block.fee_per_day", fee=formatting.money(fee)) if fee else say.text("block.free"),
    )
    return await VOLUNTARY_BLOCK_FORM.start(turn, say, {"city": card.city})
