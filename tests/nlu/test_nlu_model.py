"""The cached classifier is up to date with its training data, and reproducible."""

from collections import Counter

from dialogs.nlu import INTENTS
from dialogs.nlu import model as model_module
from dialogs.nlu.model import MODEL_FILE, IntentModel, fingerprint, load_model, read_examples


def test_training_data_is_rich_enough():
    examples = read_examples()
    per_intent = Counter(intent for _, intent in examples)
    assert set(per_intent) == set(INTENTS)
    assert min(per_intent.values()) >= 60
    assert len({text for text, _ in examples}) == len(examples), "duplicate training sentences"


def test_cached_model_matches_training_data_and_code():
    cached = IntentModel.from_json(MODEL_FILE.read_text("utf-8"))
    assert cached.fingerprint == fingerprint(), "stale model cache: run `python -m dialogs.nlu.train`"
    assert load_model().fingerprint == cached.fingerprint


def test_stale_cache_is_retrained_and_retraining_reproduces_the_cache(tmp_path, monkeypatch, caplog):
    cached = IntentModel.from_json(MODEL_FILE.read_text("utf-8"))
    stale_file = tmp_path / "model.json"
    stale_file.write_text(MODEL_FILE.read_text("utf-8").replace(cached.fingerprint, "0" * 64), "utf-8")
    monkeypatch.setattr(model_module, "MODEL_FILE", stale_file)

    fresh = model_module.load_model.__wrapped__()  # bypass the process-wide memo

    assert "stale" in caplog.text
    assert fresh.fingerprint == cached.fingerprint
    assert fresh.labels == cached.labels
    assert fresh.vocabulary == cached.vocabulary
    assert fresh.latin_vocabulary == cached.latin_vocabulary
    assert fresh.weights.keys() == cached.weights.keys()
    for feature, weights in fresh.weights.items():
        assert max(abs(a - b) for a, b in zip(weights, cached.weights[feature])) <= 0.0011, feature


def test_json_round_trip():
    model = load_model()
    again = IntentModel.from_json(model.to_json())
    assert again == model


def test_runtime_scoring_equals_training_features(nlu):
    """The per-word cache of the runtime adds up to exactly what training saw."""
    from dialogs.nlu import features

    model = load_model()
    for text in ("не работает интернет в Уфе", "skolko deneg", "перезвоните 89000000001", "ghbdtn", "пароль пароль"):
        for _ in range(2):  # cold, then warm cache
            analysis = nlu.analyze(text)
            expected = model.scores(features.extract(analysis))
            got = nlu._scores(analysis)
            assert max(abs(a - b) for a, b in zip(expected, got)) < 1e-9, text
