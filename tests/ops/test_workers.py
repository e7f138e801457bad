"""`isp-support serve --workers 2`: gunicorn with two uvicorn workers on one PostgreSQL
and one Redis — the database prepared once, both workers serving, metrics added up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import provision_database, require_redis
from tests.ops.test_metrics import sample

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def serve(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # Its own session: a failing test kills the whole group (gunicorn and its workers).
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", *args],
        cwd=tmp_cwd(log), env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def tmp_cwd(log: Path) -> Path:
    return log.parent


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "TELEGRAM_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve did not come up:\n{log.read_text()[-3000:]}")


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_workers_share_one_database_and_redis(tmp_path):
    redis_url = await require_redis()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with provision_database("postgres", tmp_path) as database_url:
        env = base_env(
            DATABASE_URL=database_url, REDIS_URL=redis_url, REDIS_PREFIX=f"test:{uuid.uuid4().hex[:10]}:",
            SECRET_KEY="w" * 32, PASSWORD_HASH_PROFILE="insecure-fast",
        )
        log = tmp_path / "serve.log"
        process = serve(["--workers", "2", "--demo", "--port", str(port)], env, log)
        try:
            wait_until_up(url, process, log)
            assert len(children(process.pid)) == 2, "gunicorn runs two workers"
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                sent = 0
                for _ in range(6):
                    session = (await client.post("/api/webchat/sessions")).json()
                    headers = {"Authorization": f"Bearer {session['token']}"}
                    for text in ("какой у меня баланс", "1000001", "demo1"):
                        reply = await client.post("/api/webchat/messages", json={"text": text}, headers=headers)
                        assert reply.status_code == 200
                        sent += 1
                    # the demo data was loaded once, and both workers see it
                    assert "Баланс: 1\xa0200" in " ".join(r["text"] for r in reply.json()["replies"])
                totals = set()
                for _ in range(4):  # whichever worker answers, the figures are the sum of both
                    text = (await client.get("/metrics")).text
                    totals.add(sample(text, "isp_turns_total", channel="webchat", outcome="answered"))
                assert totals == {sent}
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=40) == 0
            assert "Traceback" not in log.read_text()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_several_workers_without_redis_are_refused(tmp_path):
    log = tmp_path / "serve.log"
    env = base_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", SECRET_KEY="w" * 32)
    process = serve(["--workers", "2", "--port", str(free_port())], env, log)
    assert process.wait(timeout=30) == 2
    assert "needs REDIS_URL" in log.read_text()
