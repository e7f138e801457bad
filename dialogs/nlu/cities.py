"""Finding the provider's cities in tokenised text.

The forms come from the reference ``Directory`` (names and aliases), inflected by
rule (``inflect.name_forms``). Matching is exact first; unknown words of six letters
and more also match a form one edit away (two for words of ten letters and more),
so «Невиномысске» and «Владивастоке» still find their city.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from reference.directory import Directory
from dialogs.nlu.fuzzy import deletions, edit_distance
from dialogs.nlu.inflect import name_forms
from dialogs.nlu.text import fold, has_latin, transliterate, words

FUZZY_MIN_LEN = 6
FUZZY_MEMO_SIZE = 50_000  # typo lookups remembered per matcher (then started afresh)


@dataclass(frozen=True)
class CityMatch:
    name: str  # canonical name from the directory
    start: int  # token index
    end: int  # token index, exclusive


class CityMatcher:
    def __init__(self, directory: Directory) -> None:
        forms: dict[tuple[str, ...], str] = {}
        for city in directory.cities:
            spellings = [city.name, *city.aliases]
            for spelling in spellings:
                folded = fold(spelling)
                if has_latin(folded):
                    # A Latin alias as typed, and as our transliteration reads it.
                    variants = {folded} | name_forms(" ".join(transliterate(w) for w in words(folded)))
                else:
                    variants = name_forms(folded)
                for variant in variants:
                    key = tuple(words(variant))
                    if key:
                        forms.setdefault(key, city.name)
        self._forms = forms
        self._max_words = max((len(k) for k in forms), default=1)
        # Symmetric-delete index: a form and a typo of it share a string obtained by
        # deleting at most ``limit`` letters from each, so a lookup is a few dict hits.
        fuzzy: dict[str, set[tuple[str, str]]] = {}
        for key, name in forms.items():
            if len(key) == 1 and len(key[0]) >= FUZZY_MIN_LEN - 1 and not has_latin(key[0]):
                for variant in deletions(key[0], 2):
                    fuzzy.setdefault(variant, set()).add((key[0], name))
        self._fuzzy = fuzzy
        self._fuzzy_memo: dict[str, str | None] = {}

    def _fuzzy_match(self, token: str) -> str | None:
        if len(token) < FUZZY_MIN_LEN:
            return None
        try:
            return self._fuzzy_memo[token]
        except KeyError:
            if len(self._fuzzy_memo) >= FUZZY_MEMO_SIZE:
                self._fuzzy_memo.clear()
            found = self._fuzzy_memo[token] = self._closest(token)
            return found

    def _closest(self, token: str) -> str | None:
        limit = 2 if len(token) >= 10 else 1
        candidates: set[tuple[str, str]] = set()
        for variant in deletions(token, limit):
            hits = self._fuzzy.get(variant)
            if hits:
                candidates |= hits
        best: tuple[int, str] | None = None
        for form, name in candidates:
            distance = edit_distance(token, form, limit)
            if distance <= limit and (best is None or distance < best[0]):
                best = (distance, name)
        return best[1] if best else None

    def find(
        self,
        tokens: list[str],
        latin: list[str | None] | None = None,
        known_words: Container[str] = (),
    ) -> list[CityMatch]:
        """Cities mentioned in ``tokens`` (Cyrillic), consulting the Latin originals too.

        Words in ``known_words`` (ordinary vocabulary) are never typo-matched.
        """
        matches: list[CityMatch] = []
        i, n = 0, len(tokens)
        while i < n:
            found: CityMatch | None = None
            for size in range(min(self._max_words, n - i), 0, -1):
                key = tuple(tokens[i : i + size])
                name = self._forms.get(key)
                if name is None and latin is not None and size == 1 and latin[i]:
                    name = self._forms.get((latin[i],))
                if name:
                    found = CityMatch(name, i, i + size)
                    break
            if found is None and tokens[i] not in known_words and not tokens[i].startswith("_"):
                name = self._fuzzy_match(tokens[i])
                if name:
                    found = CityMatch(name, i, i + 1)
            if found:
                matches.append(found)
                i = found.end
            else:
                i += 1
        return matches
