"""Phone numbers from shared contacts, normalised to E.164."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "RU"


def _parse(text: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None


def _format(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_e164(raw: str | None) -> str | None:
    """E.164 (``+79161234567``) or None when the text is not a phone number.

    Telegram sends the owner's own number in international form without "+"
    ("79161234567"); a contact card typed by someone may be local ("8 916 123-45-67").
    """
    if not raw:
        return None
    cleaned = re.sub(r"[^\d+]", "", raw)
    digits = cleaned.lstrip("+")
    if not digits.isdigit():
        return None
    international = _parse("+" + digits)
    national = None if cleaned.startswith("+") else _parse(digits)
    for number in (international, national):
        if number is not None and phonenumbers.is_valid_number(number):
            return _format(number)
    # A range the metadata does not know yet (or a test number) with a possible
    # length: keep the international reading, which is how Telegram sends numbers.
    if international is not None and phonenumbers.is_possible_number(international):
        return _format(international)
    return None
