"""Running the HTTP app: one uvicorn process, or several under gunicorn.

``--workers 1`` (the default): uvicorn in this process — SQLite and in-process state
work. ``--workers N``: gunicorn (a well-kept pre-fork process manager: restarts a
dead worker, graceful shutdown on SIGTERM, rolling restart on SIGHUP) with uvicorn
workers. The parent prepares the database once (migrations, demo data) before it
forks; every worker then builds its own container — database pool, Redis client,
channels — after the fork, so no connection is ever shared between processes.
Several processes need the state in Redis (``REDIS_URL``): conversation locks,
de-duplication and live events must be seen by all of them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import tempfile
from pathlib import Path

from gunicorn.app.base import BaseApplication

from app.settings import Settings, export_for_child_processes

log = logging.getLogger(__name__)


class WorkersNeedSharedState(ValueError):
    pass


def check_multiprocess(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    if workers > 1 and not settings.redis_url:
        raise WorkersNeedSharedState(
            "--workers > 1 needs REDIS_URL: conversation locks, de-duplication and live "
            "events must be shared by every process"
        )
    if workers > 1 and settings.database_url.startswith("sqlite"):
        log.warning("several workers on SQLite serialise every write; use PostgreSQL (DATABASE_URL) in production")


def worker_app(settings: Settings):
    """The ASGI app of one worker: the parent already prepared the database."""
    from app.asgi import create_app
    from app.container import build_container

    return create_app(settings, container_factory=functools.partial(build_container, migrate=False), freeze_heap=True)


class GunicornServer(BaseApplication):
    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.workers,
            "worker_class": "uvicorn_worker.UvicornWorker",
            # A worker that stops answering its heartbeat for this long is replaced.
            "timeout": 60,
            # SIGTERM: stop accepting, let turns in progress finish (channels drain).
            "graceful_timeout": 30,
            "keepalive": 5,
            "accesslog": None,
            "loglevel": self.settings.log_level.lower(),
            # Load the app in each worker after the fork (pools must not cross a fork).
            "preload_app": False,
            "proc_name": "isp-support",
            "child_exit": _forget_dead_worker_metrics,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        return worker_app(self.settings)


def _forget_dead_worker_metrics(server, worker) -> None:
    """A replaced worker's live gauges must not be added up forever."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def serve(settings: Settings, workers: int = 1) -> None:
    check_multiprocess(settings, workers)
    if workers == 1:
        import uvicorn

        from app.asgi import create_app

        app = create_app(settings, freeze_heap=True)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(), proxy_headers=True)
        return
    from app.container import prepare_once

    # Before anything imports prometheus_client: its value class is chosen at import.
    metrics_dir = Path(tempfile.mkdtemp(prefix="isp-support-metrics-"))
    export_for_child_processes("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    settings = settings.model_copy(update={"prometheus_multiproc_dir": metrics_dir})
    asyncio.run(prepare_once(settings))
    try:
        GunicornServer(settings, workers).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
