"""The quality gate: held-out evaluation set, kept apart from the training data."""

from collections import Counter

import pytest

from dialogs.nlu import INTENTS
from dialogs.nlu.evaluate import evaluate, read_eval
from dialogs.nlu.model import read_examples
from dialogs.nlu.text import has_latin


@pytest.fixture(scope="module")
def eval_items():
    return read_eval()


def _normalised(nlu, text: str) -> str:
    """Case, ё, punctuation and script folded; numbers and cities masked; typos left as typed."""
    return " ".join(nlu.analyze(text).tokens)


def test_eval_set_is_large_and_covers_every_intent(eval_items):
    assert len(eval_items) >= 300
    per_intent = Counter(item.intent for item in eval_items)
    assert set(per_intent) == set(INTENTS)
    assert min(per_intent.values()) >= 15
    assert sum(has_latin(item.text.lower()) for item in eval_items) >= 30  # transliteration and English


def test_eval_set_does_not_overlap_training_data(nlu, eval_items):
    training = {_normalised(nlu, text) for text, _ in read_examples()}
    overlapping = [item.text for item in eval_items if _normalised(nlu, item.text) in training]
    assert overlapping == []


def test_eval_set_has_no_duplicates(nlu, eval_items):
    # The same frame with another city is a different test (of the city entity).
    normalised = Counter((_normalised(nlu, item.text), item.entities.get("city")) for item in eval_items)
    assert [text for text, count in normalised.items() if count > 1] == []


def test_intent_accuracy_gate(nlu, eval_items):
    report = evaluate(nlu, eval_items)
    assert report.intent_accuracy >= 0.95, report.intent_errors


def test_entity_accuracy_gate(nlu, eval_items):
    report = evaluate(nlu, eval_items)
    assert report.entity_accuracy >= 0.95, report.entity_errors
    for name, (true_pos, predicted, expected) in report.per_entity.items():
        assert true_pos / expected >= 0.9, name
        assert true_pos / predicted >= 0.9, name


def test_every_intent_is_mostly_right(nlu, eval_items):
    report = evaluate(nlu, eval_items)
    for intent, (correct, total) in report.per_intent.items():
        assert correct / total >= 0.8, intent


def test_evaluate_command_prints_the_numbers(capsys):
    from dialogs.nlu.evaluate import main

    assert main([]) == 0
    out = capsys.readouterr().out
    assert "intent accuracy:" in out
    assert "entity accuracy:" in out
    for intent in INTENTS:
        assert intent in out
