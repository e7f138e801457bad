"""One utterance, normalised: the common input of the classifier and the extractors.

Steps: fold case; pull out phones and account numbers (replaced by placeholder
words); repair each chunk — Latin look-alikes inside Russian words, whole words
typed in the English keyboard layout, transliterated Russian; correct typos against
the training vocabulary; find cities (replaced by ``_city_``, since which city it is
says nothing about the intent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.nlu.cities import CityMatch, CityMatcher
from dialogs.nlu.fuzzy import deletions, edit_distance
from dialogs.nlu.numbers import NumberSpan, find_numbers, mask_numbers
from dialogs.nlu.text import (
    fix_homoglyphs,
    fold,
    from_keyboard_layout,
    has_cyrillic,
    has_latin,
    transliterate,
    words,
)

CITY_TOKEN = "_city_"
CORRECT_MIN_LEN = 4
# Chunks (whitespace-separated pieces) and typo corrections are memoised per
# analyser, up to this many entries each (then started afresh).
CACHE_SIZE = 50_000
_DIGIT = re.compile(r"\d")


class Vocabulary:
    """Words seen in training, with a typo index (symmetric single deletions)."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        index: dict[str, list[str]] = {}
        for word in counts:
            if len(word) >= CORRECT_MIN_LEN - 1 and not word.startswith("_"):
                for variant in deletions(word, 1):
                    index.setdefault(variant, []).append(word)
        self._index = index

    def __contains__(self, word: object) -> bool:
        return word in self.counts

    def correct(self, word: str) -> str | None:
        """The likeliest known word within one or two edits of an unknown ``word``."""
        if len(word) < CORRECT_MIN_LEN or word in self.counts:
            return None
        limit = 2 if len(word) >= 8 else 1
        candidates: set[str] = set()
        for variant in deletions(word, 1):
            hits = self._index.get(variant)
            if hits:
                candidates.update(hits)
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            distance = edit_distance(word, candidate, limit)
            if distance > limit:
                continue
            key = (distance, -self.counts[candidate], candidate)
            if best is None or key < best:
                best = key
        return best[2] if best else None


@dataclass(frozen=True)
class Analysis:
    numbers: tuple[NumberSpan, ...]
    tokens: tuple[str, ...]  # Cyrillic words and placeholders (_phone_, _account_, _num_, _city_)
    corrected: tuple[str | None, ...]  # a known word for an unknown (typo) token
    latin: tuple[str | None, ...]  # the Latin original of a transliterated token
    cities: tuple[str, ...]  # canonical names, in order of mention
    keyword_text: str  # Cyrillic words (corrected) then Latin originals, for keyword rules


class Analyzer:
    def __init__(self, cities: CityMatcher, vocabulary: Vocabulary, latin_vocabulary: frozenset[str]) -> None:
        self._cities = cities
        self._vocabulary = vocabulary
        self._latin_vocabulary = latin_vocabulary
        self._chunks: dict[str, list[tuple[str, str | None]]] = {}
        self._corrections: dict[str, str | None] = {}

    def _cached_chunk_tokens(self, chunk: str) -> list[tuple[str, str | None]]:
        found = self._chunks.get(chunk)
        if found is None:
            if len(self._chunks) >= CACHE_SIZE:
                self._chunks.clear()
            found = self._chunks[chunk] = self._chunk_tokens(chunk)
        return found

    def _correct(self, token: str) -> str | None:
        if token in self._vocabulary or token.startswith("_"):
            return None
        try:
            return self._corrections[token]
        except KeyError:
            if len(self._corrections) >= CACHE_SIZE:
                self._corrections.clear()
            found = self._corrections[token] = self._vocabulary.correct(token)
            return found

    def _chunk_tokens(self, chunk: str) -> list[tuple[str, str | None]]:
        if not has_latin(chunk):
            return [(w, None) for w in words(chunk)]
        if has_cyrillic(chunk):
            chunk = fix_homoglyphs(chunk)
            return [(transliterate(w) if has_latin(w) else w, None) for w in words(chunk)]
        latin_words = words(chunk)
        translit = [(transliterate(w), w) for w in latin_words]
        if len(chunk) >= 3 and not any(w in self._latin_vocabulary for w in latin_words):
            known = self._vocabulary
            layout = words(from_keyboard_layout(chunk))
            if layout and all(w in known for w in layout) and not all(c in known for c, _ in translit):
                return [(w, None) for w in layout]
        return translit

    def analyze(self, text: str) -> Analysis:
        folded = fold(text)
        numbers = find_numbers(folded) if _DIGIT.search(folded) else []
        masked = mask_numbers(folded, numbers)
        tokens: list[str] = []
        latin: list[str | None] = []
        for chunk in masked.split():
            for token, original in self._cached_chunk_tokens(chunk):
                tokens.append(token)
                latin.append(original)
        corrected = [self._correct(token) for token in tokens]
        city_matches: list[CityMatch] = self._cities.find(tokens, latin, self._vocabulary)
        if city_matches:
            for match in reversed(city_matches):
                tokens[match.start : match.end] = [CITY_TOKEN]
                latin[match.start : match.end] = [None]
                corrected[match.start : match.end] = [None]
        keyword_words = [c or t for t, c in zip(tokens, corrected)]
        keyword_words.extend(w for w in latin if w)
        return Analysis(
            numbers=tuple(numbers),
            tokens=tuple(tokens),
            corrected=tuple(corrected),
            latin=tuple(latin),
            cities=tuple(m.name for m in city_matches),
            keyword_text=" " + " ".join(keyword_words) + " ",
        )
