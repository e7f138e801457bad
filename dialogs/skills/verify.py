"""Who is writing: account number + password, or + a one-time SMS code, or a phone
the channel vouches for. Wrong guesses are limited per account and per
conversation; nothing tells whether an account exists.

Turn policies: ``idle_login`` forgets a login nobody used for ``session_idle_seconds``;
``shared_phone``: a contact shared while logging in (or out of the blue) logs in,
whatever else runs."""

from __future__ import annotations

import math
import re
import secrets
from datetime import timedelta
from typing import Any, Awaitable, Callable

from billing.port import AccountCard
from dialogs import formatting, payloads
from dialogs.events import (
    AccountVerified,
    Event,
    FormDeactivated,
    FormSubmitted,
    LoggedOut,
    PendingIntentSet,
)
from dialogs.forms import Form, FormAborted
from dialogs.messages import CONTACT
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.turn import Turn

router = SkillRouter("verify")

ACCOUNT_RE = re.compile(r"\d{5,20}")


def _say_locked(turn: Turn, say: Responder, remaining: float | None) -> bool:
    """If a lock has ``remaining`` seconds, tell the subscriber when to try again."""
    if remaining is None:
        return False
    minutes = max(1, math.ceil(remaining / 60))
    city = turn.known_city()
    until = turn.now + timedelta(seconds=remaining)
    until_local = until.astimezone(city.tz) if city else until
    say.say(
        "verify.locked",
        minutes=minutes,
        until=formatting.clock(until_local),
        service_phone=turn.services.directory.service_line.phone,
    )
    return True


class VerifyForm(Form):
    name = "verify"
    slots = ("account", "secret")
    optional_slots = ("method",)  # "sms": a one-time code instead of the password
    secret_slots = ("secret",)

    # -- account ---------------------------------------------------------------------------
    def extract_account(self, turn: Turn, requested: bool) -> Any:
        if turn.entity("account"):
            return turn.entity("account")
        if requested:
            digits = re.sub(r"[\s\-№#]", "", turn.text)
            return digits if ACCOUNT_RE.fullmatch(digits) else None
        return None

    async def validate_account(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        number = re.sub(r"\D", "", str(value))
        if not ACCOUNT_RE.fullmatch(number):
            say.say("verify.account_format")
            return None
        if _say_locked(turn, say, await turn.services.login_attempts.account_locked_for(number)):
            raise FormAborted
        return {"account": number}

    async def ask_account(self, turn: Turn, say: Responder, slots: dict) -> None:
        say.say("verify.ask_account", buttons=[say.button("buttons.cancel", payloads.CANCEL)], offer_phone_login=True)

    # -- method (optional: "sms" switches the secret from a password to a code) ------------
    async def validate_method(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        if value != "sms" or "account" not in slots:
            return {"method": "password"}
        number, attempts = slots["account"], turn.services.login_attempts
        if not await attempts.may_send_code(number):
            say.say("verify.sms_too_often")
            return {"method": "password"}
        code = f"{secrets.randbelow(1_000_000):06d}"
        await attempts.keep_code(number, turn.conversation.key, code)
        card = await turn.services.billing.find_account(number)
        if card is not None:  # an unknown account gets the same answer, and no SMS
            await turn.services.sms.send(card.phone, say.text("verify.sms_text", code=code))
        return {"method": "sms"}

    # -- the secret: password or SMS code ---------------------------------------------------
    def extract_secret(self, turn: Turn, requested: bool) -> Any:
        return turn.inbound.text.strip() if requested and turn.inbound.text and turn.inbound.text.strip() else None

    async def ask_secret(self, turn: Turn, say: Responder, slots: dict) -> None:
        if slots.get("method") == "sms":
            say.say(
                "verify.ask_sms_code",
                buttons=[say.button("buttons.use_password", payloads.make(payloads.INFORM, method="password")),
                         say.button("buttons.cancel", payloads.CANCEL)],
            )
        else:
            say.say(
                "verify.ask_password",
                buttons=[say.button("buttons.sms_code", payloads.make(payloads.INFORM, method="sms")),
                         say.button("buttons.cancel", payloads.CANCEL)],
            )

    async def validate_secret(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        services, attempts, conversation = turn.services, turn.services.login_attempts, turn.conversation.key
        number = slots["account"]
        if _say_locked(turn, say, await attempts.locked_for(number, conversation)):
            raise FormAborted
        if slots.get("method") == "sms":
            ok = await attempts.code_matches(number, conversation, value.replace(" ", ""))
        else:
            ok = await services.billing.check_password(number, value)
        if ok:
            await attempts.succeeded(number, conversation)
            return {"secret": True}
        account_fails, locked_for = await attempts.failed(number, conversation)
        if _say_locked(turn, say, locked_for):
            raise FormAborted
        key = "verify.wrong_code" if slots.get("method") == "sms" else "verify.wrong_password"
        say.say(key, left=services.verify_policy.max_attempts - account_fails)
        return None

    async def submit(self, turn: Turn, say: Responder, slots: dict) -> list[Event]:
        card = await turn.services.billing.find_account(slots["account"])
        if card is None:  # deleted between the check and now
            say.say("verify.failed")
            return []
        say.say("verify.done", account=card.number)
        return [AccountVerified(card.number, card.city)]


class ChooseAccountForm(Form):
    """Several accounts share the vouched phone: the subscriber names which."""

    name = "choose_account"
    slots = ("account",)

    def extract_account(self, turn: Turn, requested: bool) -> Any:
        return turn.entity("account") or (re.sub(r"\D", "", turn.text) or None if requested else None)

    async def validate_account(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        if value not in slots.get("candidates", []):
            say.say("verify.choose_account_unknown")
            return None
        return {"account": value}

    async def ask_account(self, turn: Turn, say: Responder, slots: dict) -> None:
        say.say(
            "verify.choose_account",
            buttons=[
                say.button("buttons.account", payloads.make(payloads.INFORM, account=n), account=n, city=c)
                for n, c in zip(slots["candidates"], slots["cities"])
            ],
        )

    async def submit(self, turn: Turn, say: Responder, slots: dict) -> list[Event]:
        city = slots["cities"][slots["candidates"].index(slots["account"])]
        say.say("verify.done", account=slots["account"])
        return [AccountVerified(slots["account"], city)]


VERIFY_FORM = VerifyForm()
CHOOSE_ACCOUNT_FORM = ChooseAccountForm()


async def verify_by_vouched_phone(turn: Turn, say: Responder) -> list[Event] | None:
    """A phone the channel vouches for proves possession, as an SMS code would.
    None when it matches no contract."""
    phone = turn.inbound.vouched_phone
    if not phone:
        return None
    cards: list[AccountCard] = await turn.services.billing.accounts_by_phone(phone)
    if not cards:
        return None
    if len(cards) == 1:
        say.say("verify.done_by_phone", account=cards[0].number, phone=formatting.masked_phone(phone))
        # Counts as a completed verification: what was asked before it resumes.
        return [FormDeactivated(), AccountVerified(cards[0].number, cards[0].city), FormSubmitted("vouched_phone")]
    return await CHOOSE_ACCOUNT_FORM.start(
        turn, say, {"candidates": [c.number for c in cards], "cities": [c.city for c in cards]}
    )


def account_known(turn: Turn, say: Responder) -> dict:
    """The account named now, or earlier in the conversation (said so: the subscriber
    may want another one)."""
    if turn.entity("account"):
        return {"account": turn.entity("account")}
    if turn.conversation.account:
        say.say("verify.remembered_account", account=turn.conversation.account)
        return {"account": turn.conversation.account}
    return {}


async def ensure_verified(turn: Turn, say: Responder) -> list[Event] | None:
    """None if the subscriber is verified; else the events that start verification
    and remember what they asked for, to resume it afterwards."""
    if turn.conversation.is_verified:
        return None
    events: list[Event] = [PendingIntentSet(turn.intent, dict(turn.parse.entities))]
    by_phone = await verify_by_vouched_phone(turn, say)
    if by_phone is not None:
        return events + by_phone
    say.say("verify.needed")
    return events + await VERIFY_FORM.start(turn, say, account_known(turn, say))


async def with_verified_card(
    turn: Turn, say: Responder, show: Callable[[AccountCard], Awaitable[list[Event]]]
) -> list[Event]:
    """The skills that read the subscriber's account: verification first (it resumes the
    skill afterwards), then ``show(card)``; when billing has no card, the service line."""
    start_verification = await ensure_verified(turn, say)
    if start_verification is not None:
        return start_verification
    card = await turn.services.billing.find_account(turn.conversation.verified_account)
    if card is None:
        say_billing_unavailable(turn, say)
        return []
    return await show(card)


def say_billing_unavailable(turn: Turn, say: Responder) -> None:
    say.say("balance.unavailable", service_phone=turn.services.directory.service_line.phone)


@router.on(IntentIs("verify"))
async def start_verification(turn: Turn, say: Responder) -> list[Event]:
    if turn.conversation.is_verified and not turn.entity("account"):
        say.say("verify.already", account=turn.conversation.verified_account)
        return []
    events: list[Event] = [LoggedOut()] if turn.conversation.is_verified else []
    by_phone = await verify_by_vouched_phone(turn, say)
    if by_phone is not None:
        return events + by_phone
    # «войти» starts afresh (perhaps with another account): only the one named now.
    initial = {"account": turn.entity("account")} if turn.entity("account") else {}
    return events + await VERIFY_FORM.start(turn, say, initial)


@router.on(IntentIs("password_reset"))
async def password_reset(turn: Turn, say: Responder) -> list[Event]:
    say.say(
        "verify.password_reset",
        ways=formatting.numbered(turn.services.directory.self_service["cabinet"]["restore_ways"]),
        service_phone=turn.services.directory.service_line.phone,
        buttons=[say.button("buttons.verify_by_sms", payloads.make("verify"))],
    )
    return []


@router.on(IntentIs("logout"))
async def logout(turn: Turn, say: Responder) -> list[Event]:
    if not turn.conversation.is_verified:
        say.say("verify.logout_not_logged_in")
        return [FormDeactivated()]
    say.say("verify.logged_out", account=turn.conversation.verified_account)
    return [LoggedOut(), FormDeactivated(), PendingIntentSet(None)]


# -- turn policies -------------------------------------------------------------------------------
idle_login = SkillRouter("policy: an idle login expires")
shared_phone = SkillRouter("policy: logging in with a shared phone")


def login_idle_too_long(turn: Turn) -> bool:
    conversation = turn.conversation
    idle = turn.services.verify_policy.session_idle_seconds
    return (
        conversation.is_verified
        and conversation.last_seen is not None
        and turn.now.timestamp() - conversation.last_seen > idle
    )


@idle_login.on(login_idle_too_long)
async def forget_idle_login(turn: Turn, say: Responder, ctx: PolicyContext) -> None:
    # Applied at once, not returned: every later policy and skill of this turn must
    # see the subscriber logged out. Then the turn goes on.
    LoggedOut().apply(turn.conversation, turn.now.timestamp())
    return None


def phone_shared_while_logged_out(turn: Turn) -> bool:
    # Only a shared contact itself: WhatsApp vouches for the sender of every message,
    # and a typed answer (a password) must still reach its form.
    return (
        turn.intent == payloads.INFORM
        and turn.inbound.via == CONTACT
        and bool(turn.inbound.vouched_phone)
        and not turn.conversation.is_verified
        and (turn.form is None or turn.form.name == VERIFY_FORM.name)
    )


@shared_phone.on(phone_shared_while_logged_out)
async def log_in_with_shared_phone(turn: Turn, say: Responder, ctx: PolicyContext) -> list[Event]:
    """The shared phone proves possession: it logs in, or is said to be on no contract."""
    by_phone = await verify_by_vouched_phone(turn, say)
    if by_phone is not None:
        return by_phone
    say.say("verify.phone_not_found", buttons=[say.button("buttons.verify", payloads.make("verify"))])
    return []
