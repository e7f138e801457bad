"""Retrain the intent classifier and refresh the cached model: ``python -m dialogs.nlu.train``."""

from __future__ import annotations

import sys
import time

from dialogs.nlu.model import MODEL_FILE, train_from_file


def main() -> int:
    started = time.perf_counter()
    model = train_from_file()
    MODEL_FILE.write_text(model.to_json() + "\n", "utf-8")
    elapsed = time.perf_counter() - started
    size_kb = MODEL_FILE.stat().st_size / 1024
    print(f"trained in {elapsed:.1f}s: {len(model.weights)} features, {size_kb:.0f} KiB -> {MODEL_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
