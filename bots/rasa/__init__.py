"""The rasa-sdk action server: a provider that already runs a Rasa assistant (its own
NLU and stories) calls our skills as custom actions.

Every action hands the latest user message to the same ``DialogEngine`` the other
channels use (channel ``"rasa"``, user id = Rasa's ``sender_id``), so verification,
forms, rate limits, handoff and transcripts behave exactly as in our own channels.

What the Rasa side needs (domain.yml / rules / endpoints.yml)::

    actions: [action_isp_balance, action_isp_payment_methods, action_isp_office_hours,
              action_isp_trust_payment, action_isp_callback, action_isp_operator,
              action_isp_verify, action_isp_logout, action_isp_password_reset,
              action_isp_tech_issue, action_isp_help, action_isp_continue]
    # Our buttons come back as Rasa button payloads ``/<intent>{"entity": "value"}``;
    # the intents they use must be in the domain: ours plus inform, menu, cancel, skip.
    intents: [..., inform, menu, cancel, skip]
    entities: [city, department, payment_method, account, phone]
    slots:
      isp_verified_account: {type: any, influence_conversation: false, mappings: [{type: custom}]}
    # rules: inform/menu/cancel/skip (and any answer in the middle of our forms:
    # an account number, a password, a phone) → action_isp_continue
    # endpoints.yml:
    action_endpoint: {url: "http://127.0.0.1:5055/webhook", token: "<RASA_ACTION_TOKEN>"}

Entity values may be canonical (``Уфа``, ``tech``, ``card``) or as typed (``в Уфе``,
``техподдержка``): non-canonical ones are read by our NLU.
"""

from bots.rasa.actions import ACTION_INTENTS, CONTINUE_ACTION, VERIFIED_SLOT, EngineAction, build_action_executor
from bots.rasa.server import create_action_server, run_action_server

__all__ = [
    "ACTION_INTENTS",
    "CONTINUE_ACTION",
    "VERIFIED_SLOT",
    "EngineAction",
    "build_action_executor",
    "create_action_server",
    "run_action_server",
]
