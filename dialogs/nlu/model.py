"""The intent classifier: multinomial logistic regression over sparse features.

Trained in pure Python (SGD with sparse updates, weight decay per epoch, a fixed
seed, so training is reproducible) from ``data/train.tsv`` and cached in
``data/model.json``. The cache records a fingerprint of everything that shapes the
model — the training file and the source of the modules that turn text into
features — so a stale cache is detected: the loader then retrains in memory (a few
seconds) and ``tests/nlu`` fails until ``python -m dialogs.nlu.train`` refreshes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reference.directory import default_directory
from dialogs.nlu import analysis, cities, features, fuzzy, inflect, lexicon, numbers, text
from dialogs.nlu.analysis import Analyzer, Vocabulary
from dialogs.nlu.base import INTENTS
from dialogs.nlu.cities import CityMatcher

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
TRAIN_FILE = DATA_DIR / "train.tsv"
MODEL_FILE = DATA_DIR / "model.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Hyperparameters:
    epochs: int = 14
    learning_rate: float = 0.2
    decay: float = 0.6  # learning rate at epoch e: learning_rate / (1 + decay * e)
    weight_decay: float = 0.002  # multiplicative shrink of all weights after each epoch
    seed: int = 13
    zero_below: float = 0.01  # smaller weights are stored as 0 (a smaller cache, same decisions)


HYPERPARAMETERS = Hyperparameters()


def softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def read_examples(path: Path = TRAIN_FILE) -> list[tuple[str, str]]:
    """(text, intent) pairs from a TSV file; '#' lines are comments."""
    examples = []
    for line_no, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) < 2 or cells[1] not in INTENTS:
            raise ValueError(f"{path.name}:{line_no}: expected text<TAB>intent, got {line!r}")
        examples.append((cells[0], cells[1]))
    return examples


def fingerprint(train_file: Path = TRAIN_FILE) -> str:
    """A hash of the training data, the hyperparameters and the feature code."""
    digest = hashlib.sha256()
    digest.update(f"v{FORMAT_VERSION} {HYPERPARAMETERS}".encode())
    digest.update(train_file.read_bytes())
    for module in (text, inflect, fuzzy, numbers, cities, analysis, lexicon, features):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())  # the training loop itself
    return digest.hexdigest()


@dataclass(frozen=True)
class IntentModel:
    labels: tuple[str, ...]
    weights: dict[str, tuple[float, ...]]
    vocabulary: dict[str, int]  # native Cyrillic training words → count
    latin_vocabulary: frozenset[str]  # Latin words seen in training (English, transliteration)
    fingerprint: str

    def scores(self, feats: list[str]) -> list[float]:
        """Sum of the weight rows of ``feats`` (unknown features weigh nothing)."""
        rows = [row for row in map(self.weights.get, feats) if row is not None]
        if not rows:
            return [0.0] * len(self.labels)
        return [sum(column) for column in zip(*rows)]

    def probabilities(self, feats: list[str]) -> list[float]:
        return softmax(self.scores(feats))

    def to_json(self) -> str:
        """JSON with one feature per line, so that retraining gives a readable diff."""
        header = {
            "format": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "labels": list(self.labels),
            "vocabulary": self.vocabulary,
            "latin_vocabulary": sorted(self.latin_vocabulary),
        }
        dump = lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
        lines = [dump(header)[:-1] + ',"weights":{']
        rows = [f"{dump(f)}:{dump(list(w))}" for f, w in sorted(self.weights.items())]
        lines.append(",\n".join(rows))
        lines.append("}}")
        return "\n".join(lines)

    @classmethod
    def from_json(cls, data: str) -> "IntentModel":
        raw = json.loads(data)
        if raw.get("format") != FORMAT_VERSION:
            raise ValueError("unsupported model format")
        return cls(
            labels=tuple(raw["labels"]),
            weights={f: tuple(w) for f, w in raw["weights"].items()},
            vocabulary=dict(raw["vocabulary"]),
            latin_vocabulary=frozenset(raw["latin_vocabulary"]),
            fingerprint=raw["fingerprint"],
        )


def build_vocabulary(texts: list[str], matcher: CityMatcher) -> tuple[dict[str, int], frozenset[str]]:
    """Words of the training texts: native Cyrillic ones (for typo correction) and Latin ones."""
    bare = Analyzer(matcher, Vocabulary({}), frozenset())
    counts: dict[str, int] = {}
    latin: set[str] = set()
    for utterance in texts:
        result = bare.analyze(utterance)
        for token, original in zip(result.tokens, result.latin):
            if original:
                latin.add(original)
            elif not token.startswith("_") and not token.isdigit():
                counts[token] = counts.get(token, 0) + 1
    return dict(sorted(counts.items())), frozenset(latin)


def train(
    examples: list[tuple[str, str]],
    params: Hyperparameters = HYPERPARAMETERS,
    fingerprint_value: str = "",
) -> IntentModel:
    labels = INTENTS
    label_index = {label: i for i, label in enumerate(labels)}
    matcher = CityMatcher(default_directory())
    vocabulary, latin_vocabulary = build_vocabulary([t for t, _ in examples], matcher)
    analyzer = Analyzer(matcher, Vocabulary(vocabulary), latin_vocabulary)
    data = [(features.extract(analyzer.analyze(t)), label_index[label]) for t, label in examples]

    k = len(labels)
    weights: dict[str, list[float]] = {}
    for feats, _ in data:
        for f in feats:
            if f not in weights:
                weights[f] = [0.0] * k

    rng = random.Random(params.seed)
    order = list(range(len(data)))
    for epoch in range(params.epochs):
        rng.shuffle(order)
        rate = params.learning_rate / (1.0 + params.decay * epoch)
        for i in order:
            feats, y = data[i]
            rows = [weights[f] for f in feats]
            scores = [sum(column) for column in zip(*rows)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            grad = [e / total for e in exps]
            grad[y] -= 1.0
            steps = [(c, rate * g) for c, g in enumerate(grad) if g > 1e-4 or g < -1e-4]
            for row in rows:
                for c, step in steps:
                    row[c] -= step
        shrink = 1.0 - params.weight_decay
        for row in weights.values():
            for c in range(k):
                row[c] *= shrink

    kept: dict[str, tuple[float, ...]] = {}
    for f, row in weights.items():
        rounded = tuple(round(w, 3) if abs(w) >= params.zero_below else 0 for w in row)
        if any(rounded):
            kept[f] = rounded
    return IntentModel(labels, kept, vocabulary, latin_vocabulary, fingerprint_value)


def train_from_file(path: Path = TRAIN_FILE) -> IntentModel:
    return train(read_examples(path), HYPERPARAMETERS, fingerprint(path))


@lru_cache(maxsize=1)
def load_model() -> IntentModel:
    """The cached model, or — if the cache is missing or stale — a freshly trained one."""
    expected = fingerprint()
    try:
        model = IntentModel.from_json(MODEL_FILE.read_text("utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("NLU model cache unreadable (%s); training in memory", exc)
        return train_from_file()
    if model.fingerprint != expected:
        log.warning("NLU model cache is stale; training in memory (run `python -m dialogs.nlu.train`)")
        return train_from_file()
    return model
