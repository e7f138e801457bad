"""Each turn policy on its own (it answers, or passes the turn on with None), and
their order in ``build_turn_policies``."""

from __future__ import annotations

from dialogs import forms, payloads, policies
from dialogs.conversation import Conversation
from dialogs.events import (
    AccountVerified,
    FormActivated,
    FormDeactivated,
    FormSubmitted,
    HandoffQueued,
    LastIntent,
    Misunderstood,
    PendingIntentSet,
    SlotRequested,
    SlotSet,
)
from dialogs.nlu.base import ParseResult
from dialogs.policies import decide
from dialogs.router import SkillRouter
from dialogs.skills import build_turn_policies, confirm, follow_up, handoff, menu, verify
from dialogs.skills.ask_city import ASK_CITY_FORM
from dialogs.skills.callback import CALLBACK_FORM
from dialogs.skills.verify import VERIFY_FORM
from tests.dialogs.dialog_doubles import NOW, TEXTS, texts_of

CANCELLED = TEXTS.render("menu.cancelled")


def sure(intent: str, text: str = "", confidence: float = 0.95, **entities) -> ParseResult:
    return ParseResult(text=text, intent=intent, confidence=confidence, entities=entities)


def in_form(form, slot: str, **slots) -> Conversation:
    return Conversation(key="webchat:u1", active_form=form.name, form_slots=slots, requested_slot=slot)


def logged_in() -> Conversation:
    return Conversation(key="webchat:u1", verified_account="1000001", city="Москва")


# -- the order ------------------------------------------------------------------------------
def test_policies_run_in_the_documented_order():
    root = build_turn_policies()
    assert [r.handler for r in root.handlers()] == [
        verify.forget_idle_login,
        menu.leave_whatever_runs,
        verify.log_in_with_shared_phone,
        forms.answer_or_leave_the_form,
        menu.answer_a_stale_button,
        confirm.accept_or_decline,
        handoff.say_place_in_queue,
        policies.answer_with_skills,
        follow_up.answer_follow_up,
        handoff.say_place_in_queue,
        handoff.handoff_after_misunderstanding,
        menu.say_not_understood,
    ]


async def test_decide_puts_carried_events_first(make_turn, say, ctx):
    passing, answering = SkillRouter("passing"), SkillRouter("answering")

    @passing.on()
    async def carry(turn, say, ctx):
        ctx.carry(FormDeactivated())
        return None

    @answering.on()
    async def answer(turn, say, ctx):
        return [LastIntent("greet")]

    root = SkillRouter("root")
    root.include(passing, answering)
    assert await decide(root, make_turn("привет"), say, ctx) == [FormDeactivated(), LastIntent("greet")]


# -- verify: idle login ------------------------------------------------------------------------------
async def test_an_idle_login_is_forgotten_and_the_turn_goes_on(make_turn, say, ctx, services):
    idle = services.verify_policy.session_idle_seconds
    conversation = logged_in()
    conversation.last_seen = NOW.timestamp() - idle - 1
    assert await verify.idle_login.dispatch(make_turn("баланс", conversation=conversation), say, ctx=ctx) is None
    assert not conversation.is_verified
    assert say.replies == []


async def test_a_recent_login_stays(make_turn, say, ctx, services):
    conversation = logged_in()
    conversation.last_seen = NOW.timestamp() - services.verify_policy.session_idle_seconds
    assert await verify.idle_login.dispatch(make_turn("баланс", conversation=conversation), say, ctx=ctx) is None
    assert conversation.verified_account == "1000001"


# -- menu: leave -----------------------------------------------------------------------------
async def test_typed_cancel_leaves_even_where_a_password_is_expected(make_turn, say, ctx):
    # Where a password is expected the engine reads nothing (INFORM); the word still counts.
    turn = make_turn("Отмена!", parse=sure(payloads.INFORM, confidence=1.0),
                     conversation=in_form(VERIFY_FORM, "secret", account="1000001"), form=VERIFY_FORM)
    events = await menu.leave.dispatch(turn, say, ctx=ctx)
    assert events == [FormDeactivated(), PendingIntentSet(None)]
    assert texts_of(say) == [CANCELLED]


async def test_menu_button_shows_the_menu_and_leaves_the_form(make_turn, say, ctx):
    turn = make_turn(payload=payloads.MENU, conversation=in_form(ASK_CITY_FORM, "city"), form=ASK_CITY_FORM)
    assert await menu.leave.dispatch(turn, say, ctx=ctx) == [FormDeactivated(), PendingIntentSet(None)]
    assert texts_of(say) == [TEXTS.render("menu.menu")]


async def test_cancel_words_inside_a_sentence_or_read_by_an_outside_nlu_do_not_leave(make_turn, say, ctx):
    assert await menu.leave.dispatch(make_turn("отмена заявки", parse=sure("callback")), say, ctx=ctx) is None
    rasa_read = make_turn("стоп", parse=sure("balance", "стоп"), understood_elsewhere=True)
    assert await menu.leave.dispatch(rasa_read, say, ctx=ctx) is None
    assert say.replies == []


# -- verify: shared phone ------------------------------------------------------------------------
async def test_shared_contact_logs_in(make_turn, say, ctx):
    turn = make_turn(phone="+79000000001", parse=sure(payloads.INFORM, confidence=1.0, phone="+79000000001"))
    events = await verify.shared_phone.dispatch(turn, say, ctx=ctx)
    assert events == [FormDeactivated(), AccountVerified("1000001", "Москва"), FormSubmitted("vouched_phone")]
    assert texts_of(say) == [TEXTS.render("verify.done_by_phone", account="1000001", phone="+7 900 ***-**-01")]


async def test_shared_contact_during_the_login_form_with_two_accounts_asks_which(make_turn, say, ctx):
    turn = make_turn(phone="+79000000006", parse=sure(payloads.INFORM, confidence=1.0, phone="+79000000006"),
                     conversation=in_form(VERIFY_FORM, "account"), form=VERIFY_FORM)
    events = await verify.shared_phone.dispatch(turn, say, ctx=ctx)
    assert events[0] == FormActivated(
        "choose_account", {"candidates": ["1000006", "1000007"], "cities": ["Нальчик", "Нальчик"]}
    )
    assert texts_of(say) == [TEXTS.render("verify.choose_account")]


async def test_shared_contact_on_no_contract_is_told_so(make_turn, say, ctx):
    turn = make_turn(phone="+79995550000", parse=sure(payloads.INFORM, confidence=1.0, phone="+79995550000"))
    assert await verify.shared_phone.dispatch(turn, say, ctx=ctx) == []
    assert texts_of(say) == [TEXTS.render("verify.phone_not_found")]


async def test_shared_contact_is_left_to_others_when_logged_in_or_another_form_asks(make_turn, say, ctx):
    contact = dict(phone="+79000000001", parse=sure(payloads.INFORM, confidence=1.0, phone="+79000000001"))
    assert await verify.shared_phone.dispatch(make_turn(conversation=logged_in(), **contact), say, ctx=ctx) is None
    callback = make_turn(conversation=in_form(CALLBACK_FORM, "phone"), form=CALLBACK_FORM, **contact)
    assert await verify.shared_phone.dispatch(callback, say, ctx=ctx) is None
    assert say.replies == []


# -- forms: the waiting form -----------------------------------------------------------------------
async def test_an_answer_goes_to_the_waiting_form(make_turn, say, ctx):
    turn = make_turn("1000001", conversation=in_form(VERIFY_FORM, "account"), form=VERIFY_FORM)
    events = await forms.waiting_form.dispatch(turn, say, ctx=ctx)
    assert events == [SlotSet("account", "1000001"), SlotRequested("secret")]
    assert ctx.carried == []


async def test_a_sure_nlu_is_still_typed_text_and_the_form_reads_it_first(make_turn, say, ctx):
    # Confidence 1.0 from an NLU is no button press: «Уфа» answers "which city?".
    turn = make_turn("Уфа", parse=sure("office_hours", "Уфа", confidence=1.0, city="Уфа"),
                     conversation=in_form(ASK_CITY_FORM, "city"), form=ASK_CITY_FORM)
    events = await forms.waiting_form.dispatch(turn, say, ctx=ctx)
    assert SlotSet("city", "Уфа") in events and FormSubmitted("ask_city") in events


async def test_a_pressed_request_leaves_the_form_for_the_next_policies(make_turn, say, ctx):
    conversation = in_form(ASK_CITY_FORM, "city")
    turn = make_turn(payload="office_hours?city=Уфа", conversation=conversation, form=ASK_CITY_FORM)
    assert await forms.waiting_form.dispatch(turn, say, ctx=ctx) is None
    assert ctx.carried == [FormDeactivated(), PendingIntentSet(None)]
    assert conversation.active_form is None  # skills that start a form see none running
    assert say.replies == []


async def test_a_sure_new_request_typed_leaves_the_form(make_turn, say, ctx):
    turn = make_turn("какой баланс", parse=sure("balance", "какой баланс"),
                     conversation=in_form(VERIFY_FORM, "account"), form=VERIFY_FORM)
    assert await forms.waiting_form.dispatch(turn, say, ctx=ctx) is None
    assert ctx.carried == [FormDeactivated(), PendingIntentSet(None)]


async def test_an_unclear_answer_asks_the_question_again(make_turn, say, ctx):
    turn = make_turn("ну не знаю", conversation=in_form(VERIFY_FORM, "account"), form=VERIFY_FORM)
    assert await forms.waiting_form.dispatch(turn, say, ctx=ctx) == []
    assert texts_of(say) == [TEXTS.render("form.not_understood"), TEXTS.render("verify.ask_account")]
    assert ctx.carried == []


async def test_a_stale_payload_is_no_request_and_the_question_is_asked_again(make_turn, say, ctx):
    turn = make_turn(payload="no_such_intent", conversation=in_form(VERIFY_FORM, "account"), form=VERIFY_FORM)
    assert await forms.waiting_form.dispatch(turn, say, ctx=ctx) == []
    assert texts_of(say)[0] == TEXTS.render("form.not_understood")


async def test_no_waiting_form_no_form_policy(make_turn, say, ctx):
    assert await forms.waiting_form.dispatch(make_turn("1000001"), say, ctx=ctx) is None
    assert ctx.carried == []


# -- menu: stale button ----------------------------------------------------------------------------
async def test_an_answer_button_without_a_question_gets_the_menu(make_turn, say, ctx):
    assert await menu.stale_button.dispatch(make_turn(payload="inform?city=Уфа"), say, ctx=ctx) == []
    assert texts_of(say) == [TEXTS.render("menu.stale_button")]


async def test_an_answer_button_while_a_form_waited_is_not_stale(make_turn, say, ctx):
    # The form policy left the form on this turn: the rest of the chain answers.
    turn = make_turn(payload="inform?city=Уфа", form=ASK_CITY_FORM)
    assert await menu.stale_button.dispatch(turn, say, ctx=ctx) is None


# -- the skills ----------------------------------------------------------------------------------------
async def test_a_sure_intent_is_answered_by_its_skill_and_remembered(make_turn, say, ctx):
    events = await policies.skills.dispatch(make_turn("меню помощи", parse=sure("help")), say, ctx=ctx)
    assert events == [LastIntent("help")]
    assert len(say.replies) == 1


async def test_an_unsure_or_unhandled_intent_is_passed_on(make_turn, say, ctx):
    assert await policies.skills.dispatch(make_turn("хм", parse=sure("help", confidence=0.3)), say, ctx=ctx) is None
    inform = make_turn(payload="inform?city=Уфа")  # no skill answers a bare answer
    assert await policies.skills.dispatch(inform, say, ctx=ctx) is None
    assert say.replies == []


# -- follow-up questions ----------------------------------------------------------------------------
async def test_a_city_alone_continues_the_office_hours_question(make_turn, say, ctx):
    conversation = Conversation(key="webchat:u1", last_intent="office_hours")
    turn = make_turn("а в Уфе?", parse=sure("out_of_scope", "а в Уфе?", confidence=0.2, city="Уфа"),
                     conversation=conversation)
    events = await follow_up.follow_up.dispatch(turn, say, ctx=ctx)
    assert events[-1] == LastIntent("office_hours")
    assert texts_of(say)[0].startswith("Уфа, сейчас")


async def test_an_entity_the_last_request_does_not_take_is_no_follow_up(make_turn, say, ctx):
    conversation = Conversation(key="webchat:u1", last_intent="office_hours")
    card = make_turn("картой", parse=sure("out_of_scope", confidence=0.2, payment_method="card"), conversation=conversation)
    assert await follow_up.follow_up.dispatch(card, say, ctx=ctx) is None
    no_last = make_turn("а в Уфе?", parse=sure("out_of_scope", confidence=0.2, city="Уфа"))
    assert await follow_up.follow_up.dispatch(no_last, say, ctx=ctx) is None
    assert say.replies == []


# -- handoff after misunderstandings ---------------------------------------------------------------
async def test_the_second_misunderstanding_in_a_row_calls_an_agent(make_turn, say, ctx, services):
    conversation = Conversation(key="webchat:u1", misunderstood_in_row=1, city="Уфа")
    events = await handoff.after_misunderstandings.dispatch(make_turn("абырвалг", conversation=conversation), say, ctx=ctx)
    assert events == [HandoffQueued()]  # no Misunderstood: the count starts again
    assert services.handoffs.queued == [{
        "conversation_key": "webchat:u1", "channel": "webchat", "city": "Уфа", "department": "subscriber",
        "account_number": None, "reason": "not_understood", "now": NOW,
    }]
    assert texts_of(say)[0] == TEXTS.render("handoff.not_understood")


async def test_the_first_misunderstanding_is_not_handed_off(make_turn, say, ctx, services):
    assert await handoff.after_misunderstandings.dispatch(make_turn("абырвалг"), say, ctx=ctx) is None
    assert services.handoffs.queued == []


# -- not understood ----------------------------------------------------------------------------------
async def test_not_understood_is_said_and_counted(make_turn, say, ctx):
    assert await menu.not_understood.dispatch(make_turn("абырвалг"), say, ctx=ctx) == [Misunderstood()]
    assert texts_of(say) == [TEXTS.render("menu.not_understood")]
