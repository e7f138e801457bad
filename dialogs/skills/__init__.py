"""One module per skill. ``build_root_router`` nests their routers;
``build_turn_policies`` orders the turn policies they register; ``FORMS`` names the
forms the engine can resume across turns."""

from dialogs import forms, policies
from dialogs.forms import Form
from dialogs.router import SkillRouter
from dialogs.skills import (
    balance,
    cabinet,
    callback,
    confirm,
    contract_termination,
    follow_up,
    handoff,
    menu,
    mobile_app,
    new_connection,
    offices,
    payments,
    security,
    tariff,
    tech_issue,
    trust_payment,
    verify,
    voluntary_block,
)
from dialogs.skills.ask_city import ASK_CITY_FORM
from dialogs.skills.subscriber_request import SUBSCRIBER_REQUEST_FORM


def build_root_router() -> SkillRouter:
    root = SkillRouter("root")
    root.include(
        menu.router,
        verify.router,
        balance.router,
        payments.router,
        offices.router,
        trust_payment.router,
        callback.router,
        handoff.router,
        tech_issue.router,
        cabinet.router,
        mobile_app.router,
        security.router,
        new_connection.router,
        tariff.router,
        contract_termination.router,
        voluntary_block.router,
    )
    return root


def build_turn_policies() -> SkillRouter:
    """The order is the rule: the first policy that answers decides the turn."""
    root = SkillRouter("turn policies")
    root.include(
        verify.idle_login,  # a login unused too long is forgotten (and the turn goes on)
        menu.leave,  # menu / cancel leave whatever runs
        verify.shared_phone,  # a shared contact logs in, even in the middle of the login form
        forms.waiting_form,  # an answer to the question asked; a new request leaves the form
        menu.stale_button,  # an answer nobody asked for
        confirm.yes_or_no,  # «да» / «нет» to what the last reply offered
        handoff.asks_about_the_queue,  # «ну что там?» while queued: the place in the queue
        policies.skills,  # the skill for what the NLU is sure of
        follow_up.follow_up,  # «а в Уфе?», «а в воскресенье?» continue the last request
        handoff.while_waiting,  # anything else not understood while queued: the same
        handoff.after_misunderstandings,  # not understood again: an agent
        menu.not_understood,  # not understood
    )
    return root


FORMS: dict[str, Form] = {
    form.name: form
    for form in (verify.VERIFY_FORM, verify.CHOOSE_ACCOUNT_FORM, callback.CALLBACK_FORM, ASK_CITY_FORM, SUBSCRIBER_REQUEST_FORM,
                 voluntary_block.VOLUNTARY_BLOCK_FORM)
}
