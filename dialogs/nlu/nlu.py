"""``NLU.parse``: one utterance in, intent + confidence + entities out."""

from __future__ import annotations

from billing.reference.directory import Directory
from dialogs.nlu import features, keywords
from dialogs.nlu.analysis import Analysis, Analyzer, Vocabulary
from dialogs.nlu.base import ParseResult
from dialogs.nlu.cities import CityMatcher
from dialogs.nlu.model import IntentModel, load_model

OUT_OF_SCOPE = "out_of_scope"
# Below this probability the best guess is not trusted and the utterance is
# reported as out of scope (the engine then asks again or offers the menu).
DEFAULT_THRESHOLD = 0.4


class NLU:
    def __init__(self, directory: Directory, model: IntentModel | None = None, threshold: float = DEFAULT_THRESHOLD):
        self._model = model or load_model()
        self._analyzer = Analyzer(
            CityMatcher(directory),
            Vocabulary(self._model.vocabulary),
            self._model.latin_vocabulary,
        )
        self._threshold = threshold

    def analyze(self, text: str) -> Analysis:
        return self._analyzer.analyze(text)

    def classify(self, analysis: Analysis) -> list[tuple[str, float]]:
        """All intents with their probabilities, best first."""
        probabilities = self._model.probabilities(features.extract(analysis))
        return sorted(zip(self._model.labels, probabilities), key=lambda item: -item[1])

    def parse(self, text: str) -> ParseResult:
        analysis = self._analyzer.analyze(text)
        if not analysis.tokens:
            return ParseResult(text, OUT_OF_SCOPE, 1.0, {})
        probabilities = self._model.probabilities(features.extract(analysis))
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        intent, confidence = self._model.labels[best], probabilities[best]
        if intent != OUT_OF_SCOPE and confidence < self._threshold:
            # Not sure enough of any intent: the confidence reported is that of
            # "none of the intents", i.e. that the best guess is wrong.
            intent, confidence = OUT_OF_SCOPE, 1.0 - confidence
        return ParseResult(text, intent, confidence, extract_entities(analysis, intent))


def extract_entities(analysis: Analysis, intent: str | None = None) -> dict[str, str]:
    entities: dict[str, str] = {}
    if analysis.cities:
        entities["city"] = analysis.cities[0]
    for span in analysis.numbers:
        if span.kind in ("phone", "account") and span.kind not in entities:
            entities[span.kind] = span.value
    department = keywords.department(analysis.keyword_text)
    if department:
        entities["department"] = department
    method = keywords.payment_method(analysis.keyword_text, about_paying=intent == "payment_methods")
    if method:
        entities["payment_method"] = method
    return entities
