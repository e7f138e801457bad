"""Score the NLU on the held-out set: ``python -m dialogs.nlu.evaluate [-v] [file]``.

Prints per-intent accuracy, overall intent accuracy and entity accuracy (the share
of utterances whose entities are exactly right, and per entity type precision and
recall). ``-v`` lists every mistake.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from reference.directory import default_directory
from dialogs.nlu.base import INTENTS
from dialogs.nlu.model import DATA_DIR
from dialogs.nlu.nlu import NLU

EVAL_FILE = DATA_DIR / "eval.tsv"


@dataclass(frozen=True)
class LabelledUtterance:
    text: str
    intent: str
    entities: dict[str, str]


def read_eval(path: Path = EVAL_FILE) -> list[LabelledUtterance]:
    items = []
    for line_no, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != 3 or cells[1] not in INTENTS:
            raise ValueError(f"{path.name}:{line_no}: expected text<TAB>intent<TAB>entities-json, got {line!r}")
        items.append(LabelledUtterance(cells[0], cells[1], json.loads(cells[2])))
    return items


@dataclass
class Report:
    total: int = 0
    intent_correct: int = 0
    entities_exact: int = 0
    per_intent: dict[str, list[int]] = field(default_factory=dict)  # intent -> [correct, total]
    per_entity: dict[str, list[int]] = field(default_factory=dict)  # name -> [true pos, predicted, expected]
    intent_errors: list[tuple[str, str, str, float]] = field(default_factory=list)
    entity_errors: list[tuple[str, dict, dict]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.total if self.total else 0.0

    @property
    def entity_accuracy(self) -> float:
        return self.entities_exact / self.total if self.total else 0.0


def evaluate(nlu: NLU, items: list[LabelledUtterance]) -> Report:
    report = Report()
    for item in items:
        result = nlu.parse(item.text)
        report.total += 1
        counts = report.per_intent.setdefault(item.intent, [0, 0])
        counts[1] += 1
        if result.intent == item.intent:
            report.intent_correct += 1
            counts[0] += 1
        else:
            report.intent_errors.append((item.text, item.intent, result.intent, result.confidence))
        if result.entities == item.entities:
            report.entities_exact += 1
        else:
            report.entity_errors.append((item.text, item.entities, result.entities))
        for name in set(item.entities) | set(result.entities):
            stats = report.per_entity.setdefault(name, [0, 0, 0])
            if name in result.entities:
                stats[1] += 1
            if name in item.entities:
                stats[2] += 1
            if name in result.entities and result.entities.get(name) == item.entities.get(name):
                stats[0] += 1
    return report


def print_report(report: Report, out: TextIO, verbose: bool = False) -> None:
    out.write("intent              accuracy\n")
    for intent in INTENTS:
        correct, total = report.per_intent.get(intent, [0, 0])
        if total:
            out.write(f"  {intent:<17} {correct / total:6.1%}  ({correct}/{total})\n")
    out.write(f"intent accuracy:  {report.intent_accuracy:.1%} ({report.intent_correct}/{report.total})\n")
    out.write(f"entity accuracy:  {report.entity_accuracy:.1%} of utterances with exactly the expected entities\n")
    for name, (true_pos, predicted, expected) in sorted(report.per_entity.items()):
        precision = true_pos / predicted if predicted else 1.0
        recall = true_pos / expected if expected else 1.0
        out.write(f"  {name:<15} precision {precision:6.1%}  recall {recall:6.1%}  ({true_pos}/{predicted}/{expected})\n")
    if verbose:
        for text, expected, got, confidence in report.intent_errors:
            out.write(f"INTENT  {text!r}: expected {expected}, got {got} ({confidence:.2f})\n")
        for text, expected, got in report.entity_errors:
            out.write(f"ENTITY  {text!r}: expected {expected}, got {got}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=EVAL_FILE)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every mistake")
    args = parser.parse_args(argv)
    report = evaluate(NLU(default_directory()), read_eval(args.file))
    print_report(report, sys.stdout, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
