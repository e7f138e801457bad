"""The phone number of a Viber ``contact`` message in E.164.

Viber sends the number a subscriber shared with the ``share-phone`` button in
international form, usually without "+" ("79161234567").
"""

from __future__ import annotations

import re

import phonenumbers


def shared_phone_e164(raw: str | None) -> str | None:
    if not raw:
        return None
    digits = re.sub(r"\D", "", raw)
    if not 8 <= len(digits) <= 15:
        return None
    candidates = ["+" + digits] if raw.strip().startswith("+") else ["+" + digits, digits]
    for text in candidates:
        try:
            number = phonenumbers.parse(text, "RU")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
