"""Real processes for the fault suite: ``isp-support serve`` in a subprocess (killed with
SIGKILL, restarted) and a private ``redis-server`` (stopped and restarted). Everything
listens on 127.0.0.1 at free ports; every process is stopped by its own handle."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "fault-suite-secret-key-0123456789abcdef"
STARTUP_TIMEOUT = 90.0  # seconds: migrations, demo data and the NLU model on a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    """``python -m app.cli serve --demo`` with a fixed port, database and secret, so a
    restart serves the same sessions (tokens) and data."""

    def __init__(self, workdir: Path, database_url: str, *, redis_url: str | None = None, redis_prefix: str = "isp:") -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # TRANSCRIPT_DURABLE passes through: with "false" the SIGKILL test shows the loss.
        kept = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TRANSCRIPT_DURABLE")
        self.env = {name: os.environ[name] for name in kept if name in os.environ}
        self.env.update(
            DATABASE_URL=database_url,
            SECRET_KEY=SECRET_KEY,
            SECRET_KEY_FILE=str(workdir / "secret"),
            DEMO="true",
            PASSWORD_HASH_PROFILE="insecure-fast",
            HOST="127.0.0.1",
            PORT=str(self.port),
            LOG_LEVEL="warning",
            REDIS_PREFIX=redis_prefix,
            PYTHONPATH=str(REPO_ROOT),
        )
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.process: subprocess.Popen | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        log = open(self.workdir / f"server-{self.port}-{self.starts}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
                if time.monotonic() - started > STARTUP_TIMEOUT:
                    raise RuntimeError(f"the server did not start within {STARTUP_TIMEOUT:.0f} s:\n{self.log_tail()}")
                try:
                    # Any answer means it serves (with Redis stopped /readyz is 503, /healthz 200).
                    await client.get("/healthz")
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing buffered is flushed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 30) -> str:
        logs = sorted(self.workdir.glob(f"server-{self.port}-*.log"))
        if not logs:
            return ""
        return "\n".join(logs[-1].read_text("utf-8", "replace").splitlines()[-lines:])


class PrivateRedis:
    """A redis-server of our own on a free port (the shared one is never touched)."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
