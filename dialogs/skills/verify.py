"""Who is writing: account number + password, or + a one-time SMS code, or a phone
the channel vouches for. Wrong guesses are limited per account and per
conversation; nothing tells whether an account exists."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from datetime import timedelta
from typing import Any

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
from dialogs.responder import Responder
from dialogs.router import IntentIs, SkillRouter
from dialogs.turn import Turn

router = SkillRouter("verify")

ACCOUNT_RE = re.compile(r"\d{5,20}")


def _account_key(number: str) -> str:
    return f"verify:fails:acct:{number}"


def _account_lock_key(number: str) -> str:
    return f"verify:locked:acct:{number}"


def _conversation_key(turn: Turn) -> str:
    return f"verify:fails:conv:{turn.conversation.key}"


def _conversation_lock_key(turn: Turn) -> str:
    return f"verify:locked:conv:{turn.conversation.key}"


def _code_key(turn: Turn, number: str) -> str:
    return f"verify:code:{turn.conversation.key}:{number}"


def _digest(number: str, code: str) -> str:
    return hashlib.sha256(f"{number}:{code}".encode()).hexdigest()


async def _say_locked(turn: Turn, say: Responder, lock_key: str) -> bool:
    """If ``lock_key`` is set, tell the subscriber when to try again."""
    remaining = await turn.services.store.ttl(lock_key)
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
        if await _say_locked(turn, say, _account_lock_key(number)):
            raise FormAborted
        return {"account": number}

    async def ask_account(self, turn: Turn, say: Responder, slots: dict) -> None:
        say.say("verify.ask_account", buttons=[say.button("buttons.cancel", payloads.CANCEL)], offer_phone_login=True)

    # -- method (optional: "sms" switches the secret from a password to a code) ------------
    async def validate_method(self, value: str, turn: Turn, say: Responder, slots: dict) -> dict | None:
        if value != "sms" or "account" not in slots:
            return {"method": "password"}
        number = slots["account"]
        sent = await turn.services.store.incr(f"verify:sms_sent:{number}", turn.services.verify_policy.window_seconds)
        if sent > 3:
            say.say("verify.sms_too_often")
            return {"method": "password"}
        code = f"{secrets.randbelow(1_000_000):06d}"
        await turn.services.store.set(
            _code_key(turn, number), _digest(number, code), ttl=turn.services.verify_policy.sms_code_ttl_seconds
        )
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
        services, policy = turn.services, turn.services.verify_policy
        number = slots["account"]
        if await _say_locked(turn, say, _account_lock_key(number)) or await _say_locked(
            turn, say, _conversation_lock_key(turn)
        ):
            raise FormAborted
        if slots.get("method") == "sms":
            stored = await services.store.get(_code_key(turn, number))
            ok = stored is not None and hmac.compare_digest(stored, _digest(number, value.replace(" ", "")))
        else:
            ok = await services.billing.check_password(number, value)
        if ok:
            await services.store.delete(_account_key(number))
            await services.store.delete(_code_key(turn, number))
            return {"secret": True}
        account_fails = await services.store.incr(_account_key(number), policy.window_seconds)
        conversation_fails = await services.store.incr(_conversation_key(turn), policy.window_seconds)
        if account_fails >= policy.max_attempts:
            await services.store.set(_account_lock_key(number), "1", ttl=policy.window_seconds)
            await _say_locked(turn, say, _account_lock_key(number))
            raise FormAborted
        if conversation_fails >= policy.max_attempts_per_conversation:
            await services.store.set(_conversation_lock_key(turn), "1", ttl=policy.window_seconds)
            await _say_locked(turn, say, _conversation_lock_key(turn))
            raise FormAborted
        key = "verify.wrong_code" if slots.get("method") == "sms" else "verify.wrong_password"
        say.say(key, left=policy.max_attempts - account_fails)
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
    initial = {"account": turn.entity("account")} if turn.entity("account") else {}
    return events + await VERIFY_FORM.start(turn, say, initial)


@router.on(IntentIs("verify"))
async def start_verification(turn: Turn, say: Responder) -> list[Event]:
    if turn.conversation.is_verified and not turn.entity("account"):
        say.say("verify.already", account=turn.conversation.verified_account)
        return []
    events: list[Event] = [LoggedOut()] if turn.conversation.is_verified else []
    by_phone = await verify_by_vouched_phone(turn, say)
    if by_phone is not None:
        return events + by_phone
    initial: dict = {}
    if turn.entity("account"):
        initial["account"] = turn.entity("account")
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
