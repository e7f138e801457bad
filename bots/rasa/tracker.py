"""Reading what Rasa tells an action about the latest user message, and writing our
buttons in Rasa's own payload syntax.

Rasa's tracker state carries the message as ``latest_message`` (its parse data:
``text``, ``intent`` {name, confidence}, ``entities`` [{entity, value, ...}],
``message_id``). A button press arrives as text ``/<intent>{"entity": "value"}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from reference.directory import Directory
from dialogs import payloads
from dialogs.messages import Button
from dialogs.nlu.base import PAYMENT_METHODS, ParseResult

ENTITY_NAMES = ("city", "department", "payment_method", "account", "phone")
ACCOUNT_DIGITS = re.compile(r"\d{5,20}")
# Rasa's button syntax: ``/intent``, ``/intent{"k": "v"}``, optionally ``@0.9`` for a confidence.
RASA_BUTTON = re.compile(r"^/(?P<intent>[^{@\s]+)(?:@[\d.]+)?(?P<entities>\{.*\})?(?:@[\d.]+)?\s*$", re.S)
# Rasa's ``trigger_intent`` API marks the message it makes up as external.
EXTERNAL_FLAG = "is_external"


class Parser(Protocol):
    def parse(self, text: str) -> ParseResult: ...


@dataclass(frozen=True)
class RasaMessage:
    """The latest user message as Rasa understood it."""

    text: str | None
    intent: str | None
    confidence: float
    entities: dict[str, Any] = field(default_factory=dict)  # raw values, first of each name
    message_id: str | None = None
    # A button press (or a trigger_intent call): intent and entities are exact.
    button: bool = False


def read_latest_message(latest: dict[str, Any] | None, events: list[dict[str, Any]] | None = None) -> RasaMessage:
    latest = latest or {}
    text = latest.get("text")
    intent_data = latest.get("intent") or {}
    intent = intent_data.get("name")
    confidence = _as_float(intent_data.get("confidence"))
    entities: dict[str, Any] = {}
    for item in latest.get("entities") or ():
        name = item.get("entity")
        if name in ENTITY_NAMES and name not in entities and item.get("value") not in (None, ""):
            entities[name] = item["value"]
    button = False
    match = RASA_BUTTON.match(text) if isinstance(text, str) else None
    if match:
        # Read the payload itself: it says exactly what was pressed, whatever the
        # Rasa domain made of it.
        button, intent, confidence = True, match["intent"], 1.0
        entities = _button_entities(match["entities"])
    elif (latest.get("metadata") or {}).get(EXTERNAL_FLAG):
        button, confidence = True, 1.0
    return RasaMessage(
        text=text if isinstance(text, str) else None,
        intent=intent,
        confidence=confidence,
        entities=entities,
        message_id=_message_id(latest, events or []),
        button=button,
    )


def _button_entities(raw: str | None) -> dict[str, Any]:
    """All of a button's entities, as strings: they are ours (``method``, ``id``, …) or
    the provider's, exact by construction; the engine validates the payload."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    entities: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, list):  # Rasa allows {"city": ["Уфа"]}
            value = value[0] if value else None
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value) != "":
            entities[str(name)] = str(value)
    return entities


def _message_id(latest: dict[str, Any], events: list[dict[str, Any]]) -> str | None:
    if latest.get("message_id"):
        return str(latest["message_id"])
    for event in reversed(events):  # older Rasa versions: only the "user" event has it
        if event.get("event") == "user":
            return str(event["message_id"]) if event.get("message_id") else None
    return None


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def normalize_entities(raw: dict[str, Any], directory: Directory, nlu: Parser) -> dict[str, str]:
    """Rasa's entity values in the form our skills expect: canonical city names,
    department and payment-method ids, account digits. A value that is none of them
    («в Уфе», «техподдержка») is read by our NLU; one it cannot read is dropped."""
    entities: dict[str, str] = {}
    for name, value in raw.items():
        text = str(value).strip()
        canonical: str | None
        if name == "account":
            digits = re.sub(r"\D", "", text)
            canonical = digits if ACCOUNT_DIGITS.fullmatch(digits) else None
        elif name == "phone":
            canonical = text or None  # the callback form validates and normalises it
        elif name == "city":
            city = directory.city(text)
            canonical = city.name if city else _read(nlu, text, name)
        elif name == "department":
            canonical = text if text in directory.departments else _read(nlu, text, name)
        elif name == "payment_method":
            canonical = text if text in PAYMENT_METHODS else _read(nlu, text, name)
        else:
            canonical = None
        if canonical:
            entities[name] = canonical
    return entities


def _read(nlu: Parser, text: str, entity: str) -> str | None:
    return nlu.parse(text[:200]).entities.get(entity) if text else None


def rasa_buttons(buttons: tuple[Button, ...]) -> list[dict[str, str]]:
    """Our buttons as Rasa renders them: pressing one sends ``/intent{...}``, which
    Rasa parses without its NLU and which comes back to us as a button press."""
    return [{"title": b.title, "payload": rasa_payload(b.payload)} for b in buttons]


def rasa_payload(payload: str) -> str:
    parsed = payloads.parse(payload)
    if parsed is None:
        return payload
    if not parsed.entities:
        return f"/{parsed.intent}"
    return f"/{parsed.intent}{json.dumps(parsed.entities, ensure_ascii=False, separators=(',', ':'))}"
