"""``MessagesOut.json_of`` writes what the ``MessagesOut`` model would (the OpenAPI
schema of ``POST /api/webchat/messages``), for every shape of a turn's result."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bots.webchat.schemas import MessagesOut
from dialogs.messages import Button, Reply, TurnResult

RESULTS = {
    "a bot reply with buttons": TurnResult(
        replies=[
            Reply("Способы оплаты:\n• Картой «Мир»", buttons=(Button("Картой", "payment_methods?payment_method=card"),)),
            Reply("Чем ещё помочь?"),
        ]
    ),
    "asking for the phone": TurnResult(replies=[Reply("Ваш номер телефона?", ask_phone=True, offer_phone_login=True)]),
    "an agent's reply": TurnResult(replies=[Reply("Здравствуйте, это Анна.", author="Анна")]),
    "an empty author": TurnResult(replies=[Reply("Текст", author="")]),
    "a password": TurnResult(replies=[Reply("Вход выполнен.")], inbound_was_secret=True),
    "held by an agent": TurnResult(replies=[Reply("never shown")], held_by_agent=True),
    "no replies": TurnResult(),
}


@pytest.mark.parametrize("result", RESULTS.values(), ids=RESULTS.keys())
def test_json_of_says_what_the_model_says(result: TurnResult):
    before = datetime.now(timezone.utc)
    fast = MessagesOut.json_of(result)
    by_model = MessagesOut.of(result).model_dump_json(exclude_none=True)
    after = datetime.now(timezone.utc)

    ours, theirs = json.loads(fast), json.loads(by_model)
    assert list(ours) == list(theirs)  # same fields in the same order
    at = datetime.fromisoformat(ours.pop("at"))
    assert before - timedelta(seconds=1) <= at <= after and at.utcoffset() == timedelta(0)
    assert fast.decode().count('"at":"') == 1 and '+00:00' not in fast.decode()  # "…Z", as pydantic writes it
    theirs.pop("at")
    assert ours == theirs
    for reply_ours, reply_theirs in zip(ours["replies"], theirs["replies"]):
        assert list(reply_ours) == list(reply_theirs)
    # What a client reads is valid against the response model (the OpenAPI schema).
    MessagesOut.model_validate_json(fast)


def test_json_of_keeps_russian_text_as_utf8():
    fast = MessagesOut.json_of(TurnResult(replies=[Reply("Офис в Уфе открыт")]))
    assert "Офис в Уфе открыт".encode() in fast
