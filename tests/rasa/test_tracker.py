"""Reading Rasa's latest_message, and our buttons in Rasa's payload syntax."""

from __future__ import annotations

from reference.directory import default_directory
from dialogs.messages import Button
from dialogs.nlu import NLU
from bots.rasa.tracker import normalize_entities, rasa_buttons, rasa_payload, read_latest_message


def test_typed_text_keeps_rasas_reading():
    message = read_latest_message({
        "text": "офис в Уфе",
        "intent": {"name": "office_hours", "confidence": 0.87},
        "entities": [
            {"entity": "city", "value": "Уфе", "start": 8, "end": 11},
            {"entity": "city", "value": "Томск"},  # only the first of a name counts
            {"entity": "mood", "value": "sad"},  # not ours: ignored
        ],
        "message_id": "abc123",
    })
    assert (message.text, message.intent, message.confidence) == ("офис в Уфе", "office_hours", 0.87)
    assert message.entities == {"city": "Уфе"}
    assert message.message_id == "abc123" and not message.button


def test_button_payloads_are_read_from_the_text():
    message = read_latest_message({
        "text": '/inform{"method": "sms", "ids": ["7"]}',
        "intent": {"name": "nlu_fallback", "confidence": 0.3},  # whatever the domain made of it
        "entities": [],
    })
    assert message.button and message.intent == "inform" and message.confidence == 1.0
    assert message.entities == {"method": "sms", "ids": "7"}
    assert read_latest_message({"text": "/balance@0.9"}).intent == "balance"
    assert read_latest_message({"text": "/x{not json}"}).entities == {}


def test_message_id_falls_back_to_the_latest_user_event():
    events = [
        {"event": "user", "message_id": "old"},
        {"event": "action", "name": "x"},
        {"event": "user", "message_id": "new"},
    ]
    assert read_latest_message({"text": "привет"}, events).message_id == "new"
    assert read_latest_message({"text": "привет"}, []).message_id is None


def test_external_trigger_intent_counts_as_a_button():
    message = read_latest_message({
        "text": "EXTERNAL: balance", "intent": {"name": "balance"}, "entities": [], "metadata": {"is_external": True},
    })
    assert message.button and message.intent == "balance"


def test_entities_become_canonical():
    directory = default_directory()
    nlu = NLU(directory)
    raw = {
        "city": "уфа",
        "department": "техподдержка",
        "payment_method": "card",
        "account": "№ 1000-002",
        "phone": " 89171234567 ",
    }
    assert normalize_entities(raw, directory, nlu) == {
        "city": "Уфа",
        "department": "tech",
        "payment_method": "card",
        "account": "1000002",
        "phone": "89171234567",
    }
    assert normalize_entities({"city": "Марс", "account": "12"}, directory, nlu) == {}


def test_our_payloads_in_rasa_syntax():
    assert rasa_payload("balance") == "/balance"
    assert rasa_payload("inform?city=Нефтекамск") == '/inform{"city":"Нефтекамск"}'
    assert rasa_payload("callback?action=cancel&id=5") == '/callback{"action":"cancel","id":"5"}'
    assert rasa_buttons((Button("Баланс", "balance"),)) == [{"title": "Баланс", "payload": "/balance"}]
    # Round trip: what Rasa sends back when the button is pressed reads as the same payload.
    back = read_latest_message({"text": rasa_payload("inform?city=Нефтекамск")})
    assert (back.intent, back.entities) == ("inform", {"city": "Нефтекамск"})
