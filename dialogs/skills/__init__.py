"""One module per skill. ``root_router`` nests them; ``FORMS`` names the forms the
engine can resume across turns."""

from dialogs.forms import Form
from dialogs.router import SkillRouter
from dialogs.skills import (
    balance,
    cabinet,
    callback,
    contract_termination,
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


FORMS: dict[str, Form] = {
    form.name: form
    for form in (verify.VERIFY_FORM, verify.CHOOSE_ACCOUNT_FORM, callback.CALLBACK_FORM, ASK_CITY_FORM, SUBSCRIBER_REQUEST_FORM,
                 voluntary_block.VOLUNTARY_BLOCK_FORM)
}
