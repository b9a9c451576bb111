"""Real Celery workers for the tests that matter: start one against the test database,
send it tasks (not eagerly), wait for what it does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate: Callable[[], bool], seconds: float = 180, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker on the test database (not the one DATABASE_URL names)."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "scrm.settings.test", "DATABASE_URL": url, **extra}


def start_worker(
    env: dict[str, str] | None = None, *, stderr: int | None = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "scrm", "worker", "--pool=solo", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env if env is not None else worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
    worker.wait(timeout=30)


def send(task: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue for a real worker even though the test settings run tasks eagerly."""
    from scrm.celery import app

    app.conf.task_always_eager = False
    try:
        task.delay(*args, **kwargs)
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
