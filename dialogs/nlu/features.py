"""Sparse features of an analysed utterance, for the linear intent classifier.

Per word: the word, its stem, character 3- and 4-grams of the word padded with
boundary marks (they carry typos and unseen inflections) and its domain concepts
(``lexicon``); for a word with a typo, also the corrected word and its stem; for
transliterated input, the Latin original and its n-grams (that is what English is
understood by). Per utterance: a bias, pairs of neighbouring stems («не работает»,
«обратный звонок»), and a marker for one-word messages.

Word features depend only on the word (and on whether «не» precedes it), so the
runtime can cache their weight sums per word; see ``NLU``.
"""

from __future__ import annotations

from dialogs.nlu.analysis import Analysis
from dialogs.nlu.lexicon import concepts
from dialogs.nlu.text import stem

NGRAM_SIZES = (3, 4)
BIAS = "^bias"


def _ngrams(word: str, prefix: str, out: list[str]) -> None:
    padded = f"<{word}>"
    length = len(padded)
    for n in NGRAM_SIZES:
        for i in range(length - n + 1):
            out.append(prefix + padded[i : i + n])


def word_stem(token: str, corrected: str | None) -> str:
    """The stem that stands for a word in the neighbour-pair features."""
    if token.startswith("_"):  # placeholders: _phone_, _account_, _num_, _city_
        return token
    return stem(corrected or token)


def word_features(token: str, corrected: str | None, latin: str | None, negated: bool) -> list[str]:
    feats = ["w:" + token]
    if token.startswith("_"):
        return feats
    feats.append("s:" + stem(token))
    _ngrams(token, "c:", feats)
    if corrected:
        feats.append("w:" + corrected)
        feats.append("s:" + stem(corrected))
    prefix = "k:не_" if negated else "k:"
    for concept in concepts(corrected or token):
        feats.append(prefix + concept)
    if latin:
        feats.append("l:" + latin)
        _ngrams(latin, "L:", feats)
        for concept in concepts(latin):
            feats.append("k:" + concept)
    return feats


def negations(analysis: Analysis) -> list[bool]:
    """For each word: does «не» come right before it?"""
    flags, previous = [], ""
    for token, corrected in zip(analysis.tokens, analysis.corrected):
        flags.append(previous == "не")
        previous = corrected or token
    return flags


def utterance_features(stems: list[str]) -> list[str]:
    feats = [BIAS]
    for left, right in zip(stems, stems[1:]):
        feats.append(f"b:{left} {right}")
    if len(stems) == 1:
        feats.append("only:" + stems[0])
    return feats


def extract(analysis: Analysis) -> list[str]:
    """All features of an utterance (training uses this; the runtime sums the same)."""
    feats: list[str] = []
    for token, corrected, latin, negated in zip(
        analysis.tokens, analysis.corrected, analysis.latin, negations(analysis)
    ):
        feats.extend(word_features(token, corrected, latin, negated))
    feats.extend(utterance_features([word_stem(t, c) for t, c in zip(analysis.tokens, analysis.corrected)]))
    return feats
