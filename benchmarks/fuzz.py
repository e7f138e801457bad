"""The long fuzz (issue 10): ``PYTHONPATH=$PWD .venv/bin/python benchmarks/fuzz.py``.

The same properties as ``tests/faults/test_fuzz.py`` — no answer of 500 from any
operation of the app's own /openapi.json (schemathesis) nor from the Telegram, WhatsApp
and Viber webhooks with correct signatures (hypothesis) — with thousands of cases instead
of a few hundred. The app runs as ``python -m app.cli serve --demo`` on 127.0.0.1 with
the messenger doubles of ``tests/doubles``. Exits 1 when a 500 was seen and prints it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the repository

from tests.faults.fuzz import fuzz_openapi, fuzz_target, fuzz_telegram, fuzz_viber, fuzz_whatsapp  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-operation", type=int, default=100, help="schemathesis cases per OpenAPI operation (default 100)")
    parser.add_argument("--per-webhook", type=int, default=1000, help="hypothesis cases per webhook (default 1000)")
    parser.add_argument("--database-url", default=None, help="a migrated or empty database (default: an SQLite file)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as workdir, fuzz_target(Path(workdir), args.database_url) as target:
        for name, run in (
            ("openapi", lambda: fuzz_openapi(target, args.per_operation)),
            ("telegram", lambda: fuzz_telegram(target, args.per_webhook)),
            ("whatsapp", lambda: fuzz_whatsapp(target, args.per_webhook)),
            ("viber", lambda: fuzz_viber(target, args.per_webhook)),
        ):
            try:
                run()
            except AssertionError as failure:  # hypothesis re-raises the shrunk failing case
                print(f"{name}: {failure}", file=sys.stderr)
        total = sum(target.statuses.values())
        print(f"fuzz: {total} requests in {time.monotonic() - started:.0f} s\n{target.summary()}")
        print(f"answers of 500: {len(target.server_errors)}")
        for error in target.server_errors[:20]:
            print(f"  {error}")
        return 1 if target.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
