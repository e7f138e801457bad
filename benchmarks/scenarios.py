"""Simulated subscribers: a weighted mix of realistic conversations, shared by the
in-process engine benchmark and the HTTP load generator.

A scenario is a list of steps; each step is what the subscriber types (``text``),
a button payload they press (``payload``), or the button of the last replies whose
title contains some words (``click``). ``expect`` is a piece of the answer that shows
the step took the intended path: a mismatch is counted (and shown) rather than
fatal, so a changed wording never stops the benchmark, but a benchmark quietly
measuring error paths would be noticed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Step:
    kind: str  # "text" | "payload" | "click"
    value: str
    expect: str | None = None


def text(value: str, expect: str | None = None) -> Step:
    return Step("text", value, expect)


def press(payload: str, expect: str | None = None) -> Step:
    return Step("payload", payload, expect)


def click(title_part: str, expect: str | None = None) -> Step:
    return Step("click", title_part, expect)


# Demo subscribers (billing/demo_subscribers.csv): account -> password.
DEMO_LOGINS = [(f"10000{n:02d}", f"demo{n}") for n in range(1, 11)]
CITIES = ["Москва", "Уфа", "Томск", "Владивосток", "Ставрополь", "Нальчик", "Белгород", "Липецк", "Нефтекамск"]
CITY_IN = {  # "когда работает офис в …"
    "Москва": "москве",
    "Уфа": "уфе",
    "Томск": "томске",
    "Владивосток": "владивостоке",
    "Нальчик": "нальчике",
    "Белгород": "белгороде",
    "Липецк": "липецке",
}


def _login(rng: random.Random) -> tuple[str, list[Step]]:
    account, password = rng.choice(DEMO_LOGINS)
    return account, [
        text(rng.choice(["войти", "хочу войти в личный кабинет", "авторизация"]), "лицевого счёта"),
        text(account, "арол"),
        text(password, "вы вошли"),
    ]


def greet_and_pay(rng: random.Random, phones: Callable[[], str]) -> list[Step]:
    return [
        text(rng.choice(["здравствуйте", "добрый день", "привет"])),
        text(rng.choice(["как оплатить интернет", "способы оплаты", "как пополнить счет"]), "без комиссии"),
        text(rng.choice(["как оплатить через сбербанк онлайн", "можно оплатить через терминал киви?", "оплата с телефона"])),
        text(rng.choice(["спасибо", "спасибо, всё понятно", "благодарю"])),
    ]


def office_hours(rng: random.Random, phones: Callable[[], str]) -> list[Step]:
    first, second = rng.sample(sorted(CITY_IN), 2)
    return [
        text(f"когда работает офис в {CITY_IN[first]}", first),
        text(f"а в {CITY_IN[second]}?", second),
    ]


def office_hours_asks_city(rng: random.Random, phones: Callable[[], str]) -> list[Step]:
    city = rng.choice(CITIES)
    return [
        text(rng.choice(["до скольки вы работаете", "адрес офиса", "режим работы"]), "В каком вы городе?"),
        text(city, city),
    ]


def callback_form(rng: random.Random, phones: Callable[[], str]) -> list[Step]:
    department = rng.choice(["Техподдержка", "Абонентский"])
    return [
        text(rng.choice(["перезвоните мне пожалуйста", "закажите обратный звонок"]), "Кто вам должен перезвонить?"),
        click(department, "В каком вы городе?"),
        text(rng.choice(CITIES), "На какой номер перезвонить?"),
        text(phones(), "Когда вам удобно"),
        click("Как можно скорее", "Коротко опишите вопрос"),
        text(rng.choice(["не работает интернет с утра", "вопрос по тарифу", "пропадает тв"]), "Заявка №"),
    ]


def login_and_balance(rng: random.Random, phones: Callable[[], str]) -> list[Step]:
    account, steps = _login(rng)
    return steps + [
        text(rng.choice(["сколько денег на счету", "какой у меня баланс", "баланс"]), f"Лицевой счёт {account}"),
        press("balance", "Баланс:"),
    ]


def login_and_trust_payment(rng: random.Random, phones: Callable[[], str]) -> list[Step]:
    _, steps = _login(rng)
    return steps + [text("нужен доверительный платеж", "оверительный платёж")]


def payment_buttons(rng: random.Random, phones: Callable[[], str]) -> list[Step]:
    return [
        press("payment_methods", "без комиссии"),
        click("терминал", "QIWI"),
        press("menu"),
    ]


# (weight, scenario): shares of conversations, not of messages.
MIX: list[tuple[int, Callable[[random.Random, Callable[[], str]], list[Step]]]] = [
    (20, greet_and_pay),
    (20, office_hours),
    (10, office_hours_asks_city),
    (15, callback_form),
    (20, login_and_balance),
    (5, login_and_trust_payment),
    (10, payment_buttons),
]


# The side-by-side run (issue 11): many sessions asking the questions an outage brings,
# each one standalone (no context needed), so any session may ask any of them in any order.
# (text, a piece of the expected answer)
QUESTIONS: list[tuple[str, str]] = [
    *((f"когда работает офис в {CITY_IN[city]}", city) for city in sorted(CITY_IN)),
    ("как оплатить интернет", "без комиссии"),
    ("способы оплаты", "без комиссии"),
    ("как пополнить счет", "без комиссии"),
]


def questions(rng: random.Random, phones: Callable[[], str]) -> list[Step]:
    """Three standalone questions from QUESTIONS in one conversation."""
    return [text(question, expect) for question, expect in rng.sample(QUESTIONS, 3)]


QUESTIONS_MIX: list[tuple[int, Callable[[random.Random, Callable[[], str]], list[Step]]]] = [(1, questions)]


class PhoneNumbers:
    """Distinct valid mobile numbers: one open callback per phone and department."""

    def __init__(self, seed: int) -> None:
        self._next = itertools.count(seed % 10_000_000)

    def __call__(self) -> str:
        digits = f"{900_000_0000 + next(self._next) % 10_000_000:010d}"
        return f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


@dataclass
class Outcome:
    """Tally of what the simulated subscribers saw."""

    steps: int = 0
    unexpected: int = 0
    missing_button: int = 0
    conversations: int = 0
    samples: list[str] = field(default_factory=list)

    def note(self, problem: str) -> None:
        if len(self.samples) < 5:
            self.samples.append(problem)


class Subscriber:
    """One simulated subscriber running scenario after scenario. Call ``next_message``
    for the body of the next message, then ``took`` with the replies it got.
    ``new_conversation`` is True when the next message starts a fresh conversation
    (callers open a new session / user id for it)."""

    def __init__(self, rng: random.Random, phones: Callable[[], str], outcome: Outcome, mix=None) -> None:
        self.rng = rng
        self.mix = mix or MIX
        self.phones = phones
        self.outcome = outcome
        self.steps: list[Step] = []
        self.position = 0
        self.last: list[dict] = []
        self.new_conversation = True
        self.serial = 0  # which conversation of this subscriber: part of its user id / session

    def _start_scenario(self) -> None:
        weights = [w for w, _ in self.mix]
        _, make = self.rng.choices(self.mix, weights=weights)[0]
        self.steps = make(self.rng, self.phones)
        self.position = 0
        self.last = []
        self.new_conversation = True
        self.serial += 1
        self.outcome.conversations += 1

    def next_message(self) -> dict:
        if self.position >= len(self.steps):
            self._start_scenario()
        step = self.steps[self.position]
        if step.kind == "text":
            return {"text": step.value}
        if step.kind == "payload":
            return {"payload": step.value}
        for reply in self.last:
            for button in reply.get("buttons", ()):
                if step.value.lower() in button["title"].lower():
                    return {"payload": button["payload"]}
        self.outcome.missing_button += 1
        self.outcome.note(f"no button like {step.value!r} after: {self._shown()}")
        return {"payload": "menu"}

    def took(self, replies: list[dict]) -> None:
        step = self.steps[self.position]
        self.position += 1
        self.new_conversation = False
        self.last = replies
        self.outcome.steps += 1
        if step.expect is not None:
            shown = "\n".join(r.get("text", "") for r in replies)
            if step.expect.lower() not in shown.lower():
                self.outcome.unexpected += 1
                self.outcome.note(f"{step.kind} {step.value!r}: expected {step.expect!r} in {self._shown()}")

    def abandon(self) -> None:
        """A failed request: give up this conversation, start another next time."""
        self.position = len(self.steps)

    def _shown(self) -> str:
        shown = " | ".join(r.get("text", "") for r in self.last).replace("\n", " ")
        return repr(shown[:160])
