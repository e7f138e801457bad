"""Unit-test harness of the dialog layer: a ``Turn`` built directly, with the real
directory, texts, skills and an in-process StateStore; the billing port and the
queue Protocols answered by the doubles of ``dialog_doubles``."""

from __future__ import annotations

import pytest

from billing.port import TrustPolicy
from dialogs import payloads
from dialogs.conversation import Conversation
from dialogs.forms import Form
from dialogs.messages import Inbound
from dialogs.nlu.base import ParseResult
from dialogs.policies import PolicyContext
from dialogs.responder import Responder
from dialogs.skills import build_root_router
from dialogs.skills.login_attempts import LoginAttempts
from dialogs.state.memory import MemoryStateStore
from dialogs.turn import Services, Turn, VerifyPolicy
from reference.directory import default_directory
from tests.dialogs.dialog_doubles import (
    NOW,
    TEXTS,
    CardsBilling,
    RecordingCallbacks,
    RecordingHandoffs,
    RecordingSms,
    card,
)


@pytest.fixture
def services() -> Services:
    policy = VerifyPolicy()
    return Services(
        billing=CardsBilling([
            card("1000001", "+79000000001"),
            card("1000006", "+79000000006", "Нальчик"),
            card("1000007", "+79000000006", "Нальчик"),
        ]),
        directory=default_directory(),
        callbacks=RecordingCallbacks(),
        handoffs=RecordingHandoffs(),
        sms=RecordingSms(),
        login_attempts=LoginAttempts(MemoryStateStore(), policy),
        verify_policy=policy,
        trust_policy=TrustPolicy(),
    )


@pytest.fixture
def make_turn(services):
    def make(
        text: str | None = None,
        *,
        payload: str | None = None,
        parse: ParseResult | None = None,
        phone: str | None = None,
        conversation: Conversation | None = None,
        form: Form | None = None,
        understood_elsewhere: bool = False,
    ) -> Turn:
        inbound = Inbound(channel="webchat", user_id="u1", message_id="m1", text=text, payload=payload,
                          vouched_phone=phone)
        if parse is None:
            parse = payloads.parse(payload) if payload else None
            parse = parse or ParseResult(text=text or "", intent="out_of_scope", confidence=0.0)
        return Turn(inbound=inbound, parse=parse, conversation=conversation or Conversation(key="webchat:u1"),
                    services=services, now=NOW, form=form, understood_elsewhere=understood_elsewhere)

    return make


@pytest.fixture
def say() -> Responder:
    return Responder(TEXTS)


@pytest.fixture
def ctx() -> PolicyContext:
    return PolicyContext(skills=build_root_router(), min_confidence=0.45)
