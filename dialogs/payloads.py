"""Button payloads: ``<intent>[?entity=value&...]``, e.g. ``balance``,
``payment_methods?payment_method=card``, ``inform?city=Уфа``.

Short on purpose (Telegram allows 64 bytes of callback data). A payload is read as
if the NLU had understood it with full confidence, so buttons and free text take
the same path through the skills.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from dialogs.nlu.base import INTENTS, ParseResult

INFORM = "inform"  # an answer to the question the bot asked (a slot value)
MENU = "menu"
CANCEL = "cancel"
SKIP = "skip"
CONTROL = (INFORM, MENU, CANCEL, SKIP)


def make(intent: str, **entities: str) -> str:
    if not entities:
        return intent
    return f"{intent}?{urlencode(entities)}"


def parse(payload: str) -> ParseResult | None:
    """None for a payload this engine never issued (stale buttons, tampering)."""
    intent, _, query = payload.strip().partition("?")
    if intent not in INTENTS and intent not in CONTROL:
        return None
    try:
        entities = dict(parse_qsl(query, strict_parsing=True)) if query else {}
    except ValueError:
        return None
    return ParseResult(text="", intent=intent, confidence=1.0, entities=entities)
