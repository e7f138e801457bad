"""Text normalisation shared by the classifier and the entity extractors.

Subscribers type fast, on phones, without punctuation, sometimes in Latin letters
("skolko deneg na schetu"), sometimes with the keyboard left in the English layout
("ghbdtn" for «привет»), sometimes mixing look-alike Latin letters into Russian
words. Everything downstream works on lowercase Cyrillic tokens; for Latin input
we also keep the original Latin tokens so that English ("what's my balance") is
understood too.
"""

from __future__ import annotations

import re

CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
VOWELS_CYR = frozenset("аеиоуыэюя")

_WORD_RE = re.compile(r"[a-zа-я0-9_]+")
_APOSTROPHES = str.maketrans({"’": "'", "`": "'", "ʼ": "'"})

# Latin letters that look like Cyrillic ones: "привeт" typed with a Latin "e".
_HOMOGLYPHS = str.maketrans("aeopcxykmtbh", "аеорсхукмтвн")

# The English QWERTY keys of the Russian ЙЦУКЕН layout: "ghbdtn" -> «привет».
_LAYOUT = str.maketrans(
    "qwertyuiop[]asdfghjkl;'zxcvbnm,.`",
    "йцукенгшщзхъфывапролджэячсмитьбюё",
)

# Transliteration, longest patterns first. Chat transliteration is inconsistent,
# so the table favours the spellings people actually type ("schet" is «счёт»).
_TRANSLIT_MULTI = (
    ("shch", "щ"),
    ("sch", "сч"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("tz", "ц"),
    ("yu", "ю"),
    ("ju", "ю"),
    ("ya", "я"),
    ("ja", "я"),
    ("yo", "е"),
    ("jo", "е"),
    ("ye", "е"),
    ("je", "е"),
    ("ck", "цк"),
    ("x", "кс"),
)
_TRANSLIT_SINGLE = {
    "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з", "i": "и",
    "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р",
    "s": "с", "t": "т", "u": "у", "f": "ф", "h": "х", "w": "в", "q": "к", "'": "ь",
    "4": "ч", "3": "з", "6": "б",
}


def fold(text: str) -> str:
    """Lowercase, ё→е, unify apostrophes."""
    return text.casefold().replace("ё", "е").translate(_APOSTROPHES)


def has_latin(token: str) -> bool:
    return not LATIN.isdisjoint(token)


def has_cyrillic(token: str) -> bool:
    return not CYRILLIC.isdisjoint(token)


def transliterate(word: str) -> str:
    """Latin → Cyrillic for a lowercase word typed as transliterated Russian."""
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        for latin, cyr in _TRANSLIT_MULTI:
            if word.startswith(latin, i):
                out.append(cyr)
                i += len(latin)
                break
        else:
            ch = word[i]
            nxt = word[i + 1] if i + 1 < n else ""
            if ch == "y":
                # "moy", "kakoy" → й after a vowel; "vy", "dengi" → ы otherwise.
                out.append("й" if out and out[-1] in VOWELS_CYR else "ы")
            elif ch == "c":
                # "cabinet", "comepay" → к; "elec", "lipeck" → ц.
                out.append("к" if nxt in ("a", "o", "u", "l", "r") else "ц")
            else:
                out.append(_TRANSLIT_SINGLE.get(ch, ch))
            i += 1
    return "".join(out)


def from_keyboard_layout(chunk: str) -> str:
    """Read a Latin chunk as if it was typed on the Russian layout."""
    return chunk.translate(_LAYOUT).replace("ё", "е")


def fix_homoglyphs(chunk: str) -> str:
    """Replace Latin look-alikes inside a mostly Cyrillic word."""
    return chunk.translate(_HOMOGLYPHS)


def words(text: str) -> list[str]:
    """Split folded text into word tokens (letters, digits, underscore)."""
    return _WORD_RE.findall(text)


# A light Russian stemmer: strips the longest inflectional ending, keeping a stem of
# at least three letters. Crude on purpose — it only has to make «баланса», «балансе»
# and «баланс» share a feature; character n-grams cover the rest.
_ENDINGS = frozenset(
    """
    иями ями ами ого его ому ему ыми ими ать ять ить еть уть ться тся ешь ете ишь ите
    ает яет ует еет ают яют уют ала ила ыла ела али или ыли ели ено ена ены ная ное ный
    ной ний ая яя ое ее ые ие ый ий ой ом ем ам ям ах ях ую юю ет ит ут ют ат ят
    ал ил ел ла ли ло ть ов ев ей а я о е ы и у ю ь й
    """.split()
)
_ENDING_LENGTHS = sorted({len(e) for e in _ENDINGS}, reverse=True)


def stem(word: str) -> str:
    if len(word) <= 3 or not has_cyrillic(word):
        return word
    for size in _ENDING_LENGTHS:
        if len(word) - size >= 3 and word[-size:] in _ENDINGS:
            return word[:-size]
    return word
