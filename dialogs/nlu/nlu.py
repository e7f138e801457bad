"""``NLU.parse``: one utterance in, intent + confidence + entities out."""

from __future__ import annotations

from reference.directory import Directory
from dialogs.nlu import features, keywords
from dialogs.nlu.analysis import Analysis, Analyzer, Vocabulary
from dialogs.nlu.base import ParseResult
from dialogs.nlu.cities import CityMatcher
from dialogs.nlu.model import IntentModel, load_model, softmax

OUT_OF_SCOPE = "out_of_scope"
# Below this probability the best guess is not trusted and the utterance is
# reported as out of scope (the engine then asks again or offers the menu).
DEFAULT_THRESHOLD = 0.4
# Words repeat endlessly in support chats; their summed feature weights are
# memoised per NLU instance, up to this many distinct words (then started afresh).
WORD_CACHE_SIZE = 50_000
# Whole messages repeat too: during an outage thousands write «нет интернета», and
# «оператор», «баланс», «спасибо» every day. Short texts' results are memoised per NLU
# instance (the parse depends on the text alone), up to this many (then started afresh).
UTTERANCE_CACHE_SIZE = 10_000
UTTERANCE_CACHE_MAX_CHARS = 120

WordKey = tuple[str, "str | None", "str | None", bool]


class NLU:
    def __init__(self, directory: Directory, model: IntentModel | None = None, threshold: float = DEFAULT_THRESHOLD):
        self._model = model or load_model()
        self._analyzer = Analyzer(
            CityMatcher(directory),
            Vocabulary(self._model.vocabulary),
            self._model.latin_vocabulary,
        )
        self._threshold = threshold
        self._word_scores: dict[WordKey, list[float]] = {}
        self._utterances: dict[str, ParseResult] = {}

    def analyze(self, text: str) -> Analysis:
        return self._analyzer.analyze(text)

    def _scores(self, analysis: Analysis) -> list[float]:
        """The same sum as ``model.scores(features.extract(analysis))``, word sums cached."""
        model, cache = self._model, self._word_scores
        parts: list[list[float]] = []
        for key in zip(analysis.tokens, analysis.corrected, analysis.latin, features.negations(analysis)):
            word = cache.get(key)
            if word is None:
                if len(cache) >= WORD_CACHE_SIZE:
                    cache.clear()
                word = cache[key] = model.scores(features.word_features(*key))
            parts.append(word)
        stems = [features.word_stem(t, c) for t, c in zip(analysis.tokens, analysis.corrected)]
        parts.append(model.scores(features.utterance_features(stems)))
        return [sum(column) for column in zip(*parts)]

    def classify(self, analysis: Analysis) -> list[tuple[str, float]]:
        """All intents with their probabilities, best first."""
        probabilities = softmax(self._scores(analysis))
        return sorted(zip(self._model.labels, probabilities), key=lambda item: -item[1])

    def parse(self, text: str) -> ParseResult:
        known = self._utterances.get(text)
        if known is not None:
            # A copy of the entities: a caller may add to its own (follow-up questions do).
            return ParseResult(text, known.intent, known.confidence, dict(known.entities))
        result = self._parse(text)
        if len(text) <= UTTERANCE_CACHE_MAX_CHARS:
            if len(self._utterances) >= UTTERANCE_CACHE_SIZE:
                self._utterances.clear()
            self._utterances[text] = ParseResult(text, result.intent, result.confidence, dict(result.entities))
        return result

    def _parse(self, text: str) -> ParseResult:
        analysis = self._analyzer.analyze(text)
        if not analysis.tokens:
            return ParseResult(text, OUT_OF_SCOPE, 1.0, {})
        probabilities = softmax(self._scores(analysis))
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        intent, confidence = self._model.labels[best], probabilities[best]
        if intent != OUT_OF_SCOPE and confidence < self._threshold:
            # Not sure enough of any intent: the confidence reported is that of
            # "none of the intents", i.e. that the best guess is wrong.
            intent, confidence = OUT_OF_SCOPE, 1.0 - confidence
        return ParseResult(text, intent, confidence, extract_entities(analysis, intent))


# Requests whose skills take neither a department nor a payment method: a keyword
# rule firing on «скорость по тарифу» or «безопасно платить картой» would only make a
# later message look like a follow-up of the wrong request. (Not the app or the
# cabinet: «приложение», «через личный кабинет» are also bare answers to "how would
# you like to pay?".)
_NO_DEPARTMENT_OR_METHOD = frozenset(
    {"new_connection", "voluntary_block", "tariff", "security", "contract_termination"}
)


def extract_entities(analysis: Analysis, intent: str | None = None) -> dict[str, str]:
    entities: dict[str, str] = {}
    if analysis.cities:
        entities["city"] = analysis.cities[0]
    for span in analysis.numbers:
        if span.kind in ("phone", "account") and span.kind not in entities:
            entities[span.kind] = span.value
    if intent in _NO_DEPARTMENT_OR_METHOD:
        return entities
    department = keywords.department(analysis.keyword_text)
    if department:
        entities["department"] = department
    method = keywords.payment_method(analysis.keyword_text, about_paying=intent == "payment_methods")
    if method:
        entities["payment_method"] = method
    return entities
