"""The policies of a conversation that remembers, each on its own: yes/no to an offer,
follow-ups registered by skills (and the ``day`` they may name), the place in the
operator queue, questions asked aside in a form, what the conversation remembers,
thanks versus goodbye."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest

from dialogs import forms, memory, payloads
from dialogs.conversation import Conversation
from dialogs.events import (
    AccountRemembered,
    CityRemembered,
    DepartmentRemembered,
    LastIntent,
    Misunderstood,
    Offered,
    SlotRequested,
)
from dialogs.nlu.base import ParseResult
from dialogs.skills import confirm, follow_up, handoff, menu
from dialogs.skills.verify import VERIFY_FORM
from dispatcher.handoffs import HandoffRecord, HandoffTicket
from reference.directory import default_directory
from tests.dialogs.dialog_doubles import NOW, TEXTS, texts_of


def sure(intent: str, text: str = "", confidence: float = 0.95, **entities) -> ParseResult:
    return ParseResult(text=text, intent=intent, confidence=confidence, entities=entities)


def offered(payload: str, **fields) -> Conversation:
    return Conversation(key="webchat:u1", offer=payload, **fields)


# -- yes / no to an offer ------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["да", "Да!", "давайте", "да, пожалуйста", "конечно", "хочу", "ага"])
async def test_yes_does_what_was_offered(make_turn, say, ctx, text):
    conversation = offered(payloads.make("office_hours", city="Уфа"))
    events = await confirm.yes_or_no.dispatch(make_turn(text, conversation=conversation), say, ctx=ctx)
    assert texts_of(say)[0].startswith("Уфа, сейчас 14:00")
    assert LastIntent("office_hours") in events


@pytest.mark.parametrize("text", ["нет", "Нет.", "не надо", "нет, спасибо", "не нужно", "неа"])
async def test_no_is_a_polite_no(make_turn, say, ctx, text):
    events = await confirm.yes_or_no.dispatch(make_turn(text, conversation=offered("trust_payment")), say, ctx=ctx)
    assert events == []
    assert texts_of(say) == [TEXTS.render("menu.declined")]


@pytest.mark.parametrize("text", ["да", "нет"])
async def test_yes_or_no_with_nothing_offered_passes_the_turn_on(make_turn, say, ctx, text):
    assert await confirm.yes_or_no.dispatch(make_turn(text), say, ctx=ctx) is None
    assert say.replies == []


@pytest.mark.parametrize("text", ["ок", "хорошо", "да, но сначала баланс", "нет интернета", "данные"])
async def test_anything_but_a_bare_yes_or_no_passes_the_turn_on(make_turn, say, ctx, text):
    turn = make_turn(text, conversation=offered("trust_payment"))
    assert await confirm.yes_or_no.dispatch(turn, say, ctx=ctx) is None


async def test_yes_while_a_form_waits_is_the_form_answer(make_turn, say, ctx):
    conversation = offered("trust_payment", active_form="verify", requested_slot="account")
    turn = make_turn("да", conversation=conversation, form=VERIFY_FORM)
    assert await confirm.yes_or_no.dispatch(turn, say, ctx=ctx) is None


async def test_an_offer_the_engine_no_longer_knows_passes(make_turn, say, ctx):
    turn = make_turn("да", conversation=offered("no_such_intent"))
    assert await confirm.yes_or_no.dispatch(turn, say, ctx=ctx) is None


def test_an_offer_lives_one_turn():
    conversation = offered("trust_payment")
    memory.forget_unanswered_offer(conversation, [Offered("callback")])
    assert conversation.offer == "trust_payment"  # (the event itself sets the new one)
    memory.forget_unanswered_offer(conversation, [LastIntent("balance")])
    assert conversation.offer is None


# -- follow-ups ---------------------------------------------------------------------------------------
def test_skills_register_what_continues_them():
    assert {"office_hours", "operator"} <= follow_up.continuations("city")
    assert follow_up.continuations("day") == {"office_hours"}
    assert follow_up.continuations("payment_method") == {"payment_methods"}
    assert follow_up.continuations("no_such_entity") == frozenset()


def test_a_new_skill_extends_the_table():
    follow_up.continued_by("test_only_intent", "test_only_entity")
    assert follow_up.continuations("test_only_entity") == {"test_only_intent"}


async def test_a_day_continues_office_hours_in_the_city_calendar(make_turn, say, ctx):
    # 20:30 UTC on Wednesday: Thursday 06:30 in Vladivostok, so «завтра» is Friday there.
    conversation = Conversation(key="webchat:u1", last_intent="office_hours", city="Владивосток")
    turn = make_turn("а завтра?", conversation=conversation)
    turn.now = datetime(2026, 11, 18, 20, 30, tzinfo=NOW.tzinfo)
    events = await follow_up.follow_up.dispatch(turn, say, ctx=ctx)
    assert turn.parse.entities == {"day": "2026-11-20"}
    assert texts_of(say)[0].startswith("Владивосток, пятница, 20 ноября")
    assert events[-1] == LastIntent("office_hours")


async def test_a_day_does_not_continue_a_request_that_takes_none(make_turn, say, ctx):
    conversation = Conversation(key="webchat:u1", last_intent="operator", city="Уфа")
    assert await follow_up.follow_up.dispatch(make_turn("а в воскресенье?", conversation=conversation), say, ctx=ctx) is None


async def test_nothing_to_continue(make_turn, say, ctx):
    assert await follow_up.follow_up.dispatch(make_turn("а в воскресенье?"), say, ctx=ctx) is None
    assert await follow_up.follow_up.dispatch(
        make_turn("ну и ладно", conversation=Conversation(key="webchat:u1", last_intent="office_hours")), say, ctx=ctx
    ) is None


# -- the place in the operator queue -----------------------------------------------------------------------
@dataclass
class WaitingHandoffs:
    """HandoffRequests with one open handoff of the conversation."""

    status: str = "waiting"
    position_in_queue: int = 3
    since: datetime = NOW - timedelta(minutes=12)

    async def current(self, conversation_key: str) -> HandoffRecord:
        return HandoffRecord(
            id=1, conversation_key=conversation_key, channel="webchat", city="Москва", department="subscriber",
            account_number=None, reason="asked", status=self.status, created_at=self.since,
            assigned_to=None, assigned_at=None,
        )

    async def standing(self, conversation_key: str, *, now=None) -> HandoffTicket:
        return HandoffTicket(id=1, position=self.position_in_queue if self.status == "waiting" else 0,
                             already_waiting=True, status=self.status, assigned_to=None)


def waiting() -> Conversation:
    return Conversation(key="webchat:u1", awaiting_agent=True)


async def test_how_long_while_queued_gets_the_place_and_the_wait(make_turn, say, ctx, services):
    turn = make_turn("ну что там?", parse=sure("help", "ну что там?", 0.55), conversation=waiting())
    turn.services = replace(services, handoffs=WaitingHandoffs())
    events = await handoff.asks_about_the_queue.dispatch(turn, say, ctx=ctx)
    assert events == [Offered(payloads.make("callback", department="subscriber"))]
    text = texts_of(say)[0]
    assert "Вы 3-й в очереди к оператору (Абонентский отдел, Москва), ждёте 12 мин." in text
    assert TEXTS.render("handoff.offer_callback") in text
    assert Misunderstood() not in events


@pytest.mark.parametrize("text", ["скоро?", "долго ещё ждать?", "когда ответят", "ау", "сколько ждать"])
async def test_questions_about_the_queue(make_turn, say, ctx, services, text):
    turn = make_turn(text, conversation=waiting())
    turn.services = replace(services, handoffs=WaitingHandoffs())
    assert await handoff.asks_about_the_queue.dispatch(turn, say, ctx=ctx) is not None


async def test_other_questions_while_queued_go_to_the_skills(make_turn, say, ctx, services):
    turn = make_turn("как оплатить", parse=sure("payment_methods", "как оплатить"), conversation=waiting())
    turn.services = replace(services, handoffs=WaitingHandoffs())
    assert await handoff.asks_about_the_queue.dispatch(turn, say, ctx=ctx) is None


async def test_status_not_asked_when_not_queued_or_already_taken(make_turn, say, ctx, services):
    assert await handoff.asks_about_the_queue.dispatch(make_turn("ну что там?"), say, ctx=ctx) is None
    turn = make_turn("ну что там?", conversation=waiting())
    turn.services = replace(services, handoffs=WaitingHandoffs(status="assigned"))
    assert await handoff.while_waiting.dispatch(turn, say, ctx=ctx) is None
    assert say.replies == []


# -- a question asked aside in a form ----------------------------------------------------------------------
def awaiting(slot: str, **slots) -> Conversation:
    return Conversation(key="webchat:u1", active_form=VERIFY_FORM.name, form_slots=slots, requested_slot=slot)


async def test_a_question_aside_is_answered_and_the_form_asks_again(make_turn, say, ctx):
    conversation = awaiting("account")
    turn = make_turn("где ближайший терминал?", conversation=conversation, form=VERIFY_FORM,
                     parse=sure("payment_methods", "где ближайший терминал?", 0.76, payment_method="terminal"))
    events = await forms.waiting_form.dispatch(turn, say, ctx=ctx)
    assert events[-2:] == [LastIntent("payment_methods"), SlotRequested("account")]
    texts = texts_of(say)
    assert "Терминал" in texts[0] or "терминал" in texts[0]
    assert texts[1:] == [TEXTS.render("form.back_to_question"), TEXTS.render("verify.ask_account")]
    assert conversation.active_form == VERIFY_FORM.name and ctx.carried == []


async def test_a_request_that_is_not_an_aside_still_leaves_the_form(make_turn, say, ctx):
    turn = make_turn("позовите оператора", conversation=awaiting("account"), form=VERIFY_FORM,
                     parse=sure("operator", "позовите оператора"))
    assert await forms.waiting_form.dispatch(turn, say, ctx=ctx) is None
    assert ctx.carried  # the form is left for the next policies


async def test_office_hours_aside_only_with_a_known_city(make_turn, say, ctx):
    no_city = make_turn("когда работает офис", parse=sure("office_hours", "когда работает офис"))
    assert not forms.is_digression(no_city)
    with_city = make_turn("когда работает офис", parse=sure("office_hours", "когда работает офис"),
                          conversation=Conversation(key="webchat:u1", city="Уфа"))
    assert forms.is_digression(with_city)


async def test_nothing_is_read_aside_while_a_secret_is_awaited(make_turn, say, ctx):
    # Even if a parse said "payment_methods", a secret slot never digresses.
    turn = make_turn(None, conversation=awaiting("secret", account="1000001"), form=VERIFY_FORM,
                     parse=sure("payment_methods", "", 1.0))
    events = await forms.waiting_form.dispatch(turn, say, ctx=ctx)
    assert LastIntent("payment_methods") not in (events or [])
    assert TEXTS.render("form.back_to_question") not in texts_of(say)


# -- what the conversation remembers ----------------------------------------------------------------------------
def test_named_values_are_remembered():
    directory = default_directory()
    parse = sure("tech_issue", "не работает в уфе", city="Уфа", department="tech", account="1000002")
    assert memory.named_in(parse, directory) == [
        CityRemembered("Уфа"), DepartmentRemembered("tech"), AccountRemembered("1000002")
    ]


def test_unknown_values_are_not_remembered():
    parse = sure("callback", "", city="Париж", department="sales", account="12ab")
    assert memory.named_in(parse, default_directory()) == []


async def test_the_remembered_department_is_known(make_turn):
    turn = make_turn("оператор", parse=sure("operator"), conversation=Conversation(key="webchat:u1", department="tech"))
    assert turn.known_department() == "tech"
    named = make_turn("оператор", parse=sure("operator", department="subscriber"),
                      conversation=Conversation(key="webchat:u1", department="tech"))
    assert named.known_department() == "subscriber"


# -- thanks and goodbye ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("спасибо", "menu.thanks"),
        ("спс", "menu.thanks"),
        ("благодарю вас", "menu.thanks"),
        ("пока", "menu.bye"),
        ("до свидания", "menu.bye"),
        ("всего доброго", "menu.bye"),
        ("хорошего дня", "menu.bye"),
        ("спасибо, пока", "menu.thanks_bye"),
        ("спасибо до свидания", "menu.thanks_bye"),
    ],
)
async def test_thanks_and_goodbye_are_told_apart(make_turn, say, text, key):
    await menu.thanks_bye(make_turn(text, parse=sure("thanks_bye", text)), say)
    assert texts_of(say) == [TEXTS.render(key)]


@dataclass
class EstimatedHandoffs(WaitingHandoffs):
    """A waiting handoff whose queue estimates the answer ``wait`` from now."""

    wait: timedelta = timedelta(minutes=17, seconds=10)

    async def standing(self, conversation_key: str, *, now=None) -> HandoffTicket:
        return HandoffTicket(id=1, position=self.position_in_queue, already_waiting=True, status="waiting",
                             assigned_to=None, expected_at=now + self.wait)


@pytest.mark.parametrize(
    "wait, said",
    [
        (timedelta(seconds=20), "Вы следующий: оператор ответит, как только освободится."),
        (timedelta(minutes=17, seconds=10), "Оператор ответит примерно через 18 мин. — сегодня в "),
        (timedelta(hours=5), "Оператор ответит примерно сегодня в "),
        (timedelta(days=1), "Оператор ответит примерно завтра в "),
    ],
)
async def test_how_long_while_queued_tells_the_estimated_answer(make_turn, say, ctx, services, wait, said):
    turn = make_turn("ну что там?", conversation=waiting())
    turn.services = replace(services, handoffs=EstimatedHandoffs(wait=wait))
    await handoff.asks_about_the_queue.dispatch(turn, say, ctx=ctx)
    text = texts_of(say)[0]
    assert said in text
    assert "точное время назвать не могу" not in text
