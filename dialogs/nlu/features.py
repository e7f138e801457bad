"""Sparse features of an analysed utterance, for the linear intent classifier.

Per word: the word, its stem, and character 3- and 4-grams of the word padded
with boundary marks (they carry typos and unseen inflections); for a word with a
typo, also the corrected word and its stem; for transliterated input, the Latin
original and its n-grams (that is what English is understood by). Per pair of
neighbours: the pair of stems («не работает», «обратный звонок»).
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


def extract(analysis: Analysis) -> list[str]:
    feats: list[str] = [BIAS]
    stems: list[str] = []
    previous = ""
    for token, corrected, latin in zip(analysis.tokens, analysis.corrected, analysis.latin):
        feats.append("w:" + token)
        if token.startswith("_"):  # placeholders: _phone_, _account_, _num_, _city_
            stems.append(token)
            previous = token
            continue
        token_stem = stem(token)
        feats.append("s:" + token_stem)
        _ngrams(token, "c:", feats)
        if corrected:
            feats.append("w:" + corrected)
            token_stem = stem(corrected)
            feats.append("s:" + token_stem)
        negated = "k:не_" if previous == "не" else "k:"
        for concept in concepts(corrected or token):
            feats.append(negated + concept)
        if latin:
            feats.append("l:" + latin)
            _ngrams(latin, "L:", feats)
            for concept in concepts(latin):
                feats.append("k:" + concept)
        stems.append(token_stem)
        previous = corrected or token
    for left, right in zip(stems, stems[1:]):
        feats.append(f"b:{left} {right}")
    if len(stems) == 1:
        feats.append("only:" + stems[0])
    return feats
