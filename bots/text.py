"""Text from a messenger, made safe to store and to send back: ``clean_text``.

Every adapter passes the subscriber's text through :func:`clean_text` where it builds
its ``Inbound`` (the adapter boundary), so nothing behind it — the NLU, the
transcript, PostgreSQL, another messenger an agent forwards to — ever sees a code
point it would refuse:

* NUL: PostgreSQL's text type cannot hold it ("invalid byte sequence ... 0x00");
* the other C0 controls but tab and line feed (a carriage return becomes a line
  feed): no one types them, Telegram and Viber reject or strip them;
* lone surrogates (JSON may carry ``"\\ud800"``): not encodable as UTF-8 at all;
* the Unicode noncharacters (U+FDD0..U+FDEF and U+xFFFE/U+xFFFF of every plane):
  "not for interchange", several APIs answer 400 for them.

Everything else is kept as typed (emoji, zero-width joiners, Latin, spacing).
"""

from __future__ import annotations

import re

_NONCHARACTERS = "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufdd0-\ufdef" + re.escape(_NONCHARACTERS) + "]"
)
_CARRIAGE_RETURN = re.compile("\r\n?")


def clean_text(text: str) -> str:
    """``text`` without the code points a database or messenger refuses (see the
    module doc); ``\\r\\n`` and a lone ``\\r`` become ``\\n``."""
    return _REFUSED.sub("", _CARRIAGE_RETURN.sub("\n", text))


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean_text(text)
