"""What the NLU tells the dialog engine about one utterance."""

from __future__ import annotations

from dataclasses import dataclass, field

INTENTS = (
    "greet",
    "thanks_bye",
    "help",
    "verify",
    "password_reset",
    "logout",
    "balance",
    "payment_methods",
    "office_hours",
    "trust_payment",
    "callback",
    "operator",
    "tech_issue",
    "cabinet_access",
    "new_connection",
    "voluntary_block",
    "tariff",
    "mobile_app",
    "security",
    "contract_termination",
    "out_of_scope",
)

# Entity names and their value sets (city: canonical names from the reference data;
# account: digits; phone: E.164).
DEPARTMENTS = ("subscriber", "tech")
PAYMENT_METHODS = ("card", "cabinet", "sberbank", "autopay", "app", "wallet", "terminal", "office", "mobile", "bonus")


@dataclass(frozen=True)
class ParseResult:
    text: str
    intent: str
    confidence: float
    entities: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "entities": dict(self.entities),
        }
