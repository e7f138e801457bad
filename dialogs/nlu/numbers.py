"""Phone numbers and account numbers in free text.

Both are runs of digits, so they are told apart together: a run that reads as a
Russian phone (+7 / 8 / 7 and ten digits, or a bare ten-digit mobile starting with
9, in any grouping) is a phone; a lone group of 5–12 digits is an account number,
unless it is money («500000 рублей») or a password / SMS code («пароль 123456»,
«код из смс 4821»). A phone-shaped run right after «лс», «лицевой счёт», «договор»
or «№» is an account after all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

_DIGITS = re.compile(r"\d+")
# What may sit between the digit groups of one phone number: "8 (900) 000-00-01".
_JOINER = re.compile(r"[ \t\-().]{1,3}")
_ACCOUNT_CONTEXT = re.compile(
    r"(?:\bл\s*[/.]?\s*с|\bлс|лицев\w*(?:\s+сч\w*)?|\bсч[её]т\w*|\bдоговор\w*|№|"
    r"\bls|\bschet\w*|\bdogovor\w*|\baccount\w*|\bacc|#)\s*[:№#]?\s*$"
)
# A password or a one-time code is never an account number (and must not end up in
# the entities, which may be logged).
_SECRET_CONTEXT = re.compile(r"(?:парол\w*|пасс\w*|pass\w*|код\w*|code|pin|пин|смс|sms)\s*[:\-—]?\s*$")
_MONEY_AFTER = re.compile(r"\s*(?:руб|р\b|р\.|₽|rub|тыс|т\.р|k\b|к\b|коп|\$|usd|eur|евро|доллар)")
ACCOUNT_DIGITS = range(5, 13)


@dataclass(frozen=True)
class NumberSpan:
    kind: str  # "phone" | "account" | "number"
    value: str  # E.164 for phones, digits otherwise
    start: int
    end: int


def _runs(text: str) -> list[list[re.Match]]:
    """Digit groups chained by phone-style separators."""
    runs: list[list[re.Match]] = []
    for group in _DIGITS.finditer(text):
        if runs and _JOINER.fullmatch(text, runs[-1][-1].end(), group.start()):
            runs[-1].append(group)
        else:
            runs.append([group])
    return runs


def _has_plus(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " (":
        i -= 1
    return i >= 0 and text[i] == "+"


def _as_phone(digits: str, plus: bool, grouped: bool) -> str | None:
    """E.164 for a digit string that reads as a phone number, else None."""
    if len(digits) == 11 and (digits[0] == "7" or (digits[0] == "8" and not plus)):
        national = digits[1:]
    elif len(digits) == 10 and not plus and (digits[0] == "9" or grouped):
        national = digits
    elif plus and 8 <= len(digits) <= 15 and digits[0] != "7":
        try:
            parsed = phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(parsed):
            return None
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    else:
        return None
    if national[0] not in "3489":  # Russian geographic (3xx, 4xx, 8xx) and mobile (9xx) codes
        return None
    try:
        parsed = phonenumbers.parse("+7" + national, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def find_numbers(text: str) -> list[NumberSpan]:
    """Phones, account numbers and other numbers in ``text``, left to right."""
    found: list[NumberSpan] = []
    for run in _runs(text):
        i = 0
        while i < len(run):
            first = run[i]
            after_account_word = _ACCOUNT_CONTEXT.search(text, max(0, first.start() - 30), first.start())
            phone: tuple[int, str] | None = None
            if not (after_account_word and len(run) == 1 and len(first.group()) in ACCOUNT_DIGITS):
                plus = _has_plus(text, first.start())
                digits = ""
                for j in range(i, len(run)):
                    digits += run[j].group()
                    if len(digits) > 15:
                        break
                    e164 = _as_phone(digits, plus, grouped=j > i)
                    if e164:
                        phone = (j, e164)
            if phone:
                j, e164 = phone
                start = first.start()
                if _has_plus(text, start):
                    start = text.rindex("+", 0, start)
                found.append(NumberSpan("phone", e164, start, run[j].end()))
                i = j + 1
                continue
            digits = first.group()
            is_money = bool(_MONEY_AFTER.match(text, first.end()))
            is_secret = bool(_SECRET_CONTEXT.search(text, max(0, first.start() - 20), first.start()))
            kind = "account" if len(digits) in ACCOUNT_DIGITS and not (is_money or is_secret) else "number"
            found.append(NumberSpan(kind, digits, first.start(), first.end()))
            i += 1
    return found


PLACEHOLDERS = {"phone": " _phone_ ", "account": " _account_ ", "number": " _num_ "}


def mask_numbers(text: str, spans: list[NumberSpan]) -> str:
    """Replace each number by a placeholder word the classifier can learn from."""
    if not spans:
        return text
    out, pos = [], 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(PLACEHOLDERS[span.kind])
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
