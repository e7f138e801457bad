"""Natural-language understanding: ``NLU(directory).parse(text) -> ParseResult``."""

from dialogs.nlu.base import DEPARTMENTS, INTENTS, PAYMENT_METHODS, ParseResult
from dialogs.nlu.nlu import NLU

__all__ = ["DEPARTMENTS", "INTENTS", "NLU", "PAYMENT_METHODS", "ParseResult"]
