"""NLU: utterances per second of ``NLU.parse`` on one core, and held-out accuracy."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from reference.directory import default_directory
from dialogs.nlu import NLU
from dialogs.nlu.evaluate import EVAL_FILE, evaluate, read_eval

TARGET_PER_SECOND = 5_000


@dataclass(frozen=True)
class NluFigures:
    per_second_median: float
    per_second_best: float
    rounds: int
    parsed: int
    load_seconds: float
    intent_accuracy: float
    entity_accuracy: float
    eval_total: int
    intent_correct: int
    entities_exact: int

    @property
    def target_met(self) -> bool:
        return self.per_second_median >= TARGET_PER_SECOND


def run(*, seconds: float, rounds: int, warmup_passes: int = 3) -> NluFigures:
    """Parse the eval-set texts over and over (a realistic mix: greetings, typos,
    transliteration, long questions, numbers), ``rounds`` timed rounds of about
    ``seconds`` each, after ``warmup_passes`` untimed passes."""
    started = time.perf_counter()
    nlu = NLU(default_directory())
    load_seconds = time.perf_counter() - started
    items = read_eval(EVAL_FILE)
    texts = [item.text for item in items]
    for _ in range(warmup_passes):
        for utterance in texts:
            nlu.parse(utterance)

    rates, parsed = [], 0
    for _ in range(rounds):
        count = 0
        begin = time.perf_counter()
        deadline = begin + seconds
        while time.perf_counter() < deadline:
            for utterance in texts:
                nlu.parse(utterance)
            count += len(texts)
        rates.append(count / (time.perf_counter() - begin))
        parsed += count

    report = evaluate(nlu, items)
    return NluFigures(
        per_second_median=statistics.median(rates),
        per_second_best=max(rates),
        rounds=rounds,
        parsed=parsed,
        load_seconds=load_seconds,
        intent_accuracy=report.intent_accuracy,
        entity_accuracy=report.entity_accuracy,
        eval_total=report.total,
        intent_correct=report.intent_correct,
        entities_exact=report.entities_exact,
    )


def describe(figures: NluFigures) -> list[str]:
    met = "met" if figures.target_met else "MISSED"
    return [
        f"  model load: {figures.load_seconds * 1e3:.0f} ms",
        f"  parse: {figures.per_second_median:,.0f} utterances/s median of {figures.rounds} rounds "
        f"(best {figures.per_second_best:,.0f}/s; {figures.parsed:,} parses; "
        f"{1e6 / figures.per_second_median:.0f} µs each) — target ≥ {TARGET_PER_SECOND:,}/s: {met}",
        f"  held-out eval ({figures.eval_total} utterances): intent accuracy {figures.intent_accuracy:.1%} "
        f"({figures.intent_correct}/{figures.eval_total}), entity accuracy {figures.entity_accuracy:.1%} "
        f"({figures.entities_exact}/{figures.eval_total} with exactly the expected entities)",
    ]
