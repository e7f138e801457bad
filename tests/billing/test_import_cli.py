"""`isp-support import-subscribers` from the command line: progress, --dry-run, bad rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.billing.test_password_formats import django_pbkdf2

REPO = Path(__file__).resolve().parents[2]
HEADER = "account,password_hash,phone,city,tariff,monthly_fee,balance,status"


def run_cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "import-subscribers", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_dry_run_then_import_then_nothing_to_write(tmp_path):
    rows = "".join(f"{7000000 + i},{django_pbkdf2('p', salt=f's{i}')},+7900300{i:04d},Уфа,Домашний 100,450,0,active\n" for i in range(5))
    path = tmp_path / "subs.csv"
    path.write_text(HEADER + "\n" + rows, encoding="utf-8")

    dry = run_cli(tmp_path, str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "5 rows are valid; nothing was written (--dry-run)" in dry.stdout

    first = run_cli(tmp_path, str(path))
    assert first.returncode == 0, first.stderr
    assert "imported 5 rows: 5 new, 0 updated, 0 unchanged" in first.stdout
    assert "rows/s" in first.stderr and "100%" in first.stderr  # the progress bar

    again = run_cli(tmp_path, str(path))
    assert "imported 5 rows: 0 new, 0 updated, 5 unchanged" in again.stdout


def test_a_bad_row_imports_nothing_and_says_where(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n7100001,notahash,+79003000001,Уфа,Домашний 100,450,0,active\n", encoding="utf-8")
    result = run_cli(tmp_path, str(path))
    assert result.returncode == 1
    assert "line 2: password_hash is not an argon2, bcrypt or PBKDF2 hash" in result.stderr
