"""The same task code runs in a real worker on Redis (production, CI) and on the
filesystem transport of the embedded demo."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.workers import ROOT, start_worker, wait_for


@pytest.mark.worker
def test_real_worker_on_redis_runs_a_task():
    from scrm.celery import app
    from scrm.tasks import ping

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "scrm.settings.test"}
    worker = start_worker(env, stderr=subprocess.PIPE)
    try:
        token = uuid.uuid4().hex
        app.conf.task_always_eager = False
        try:
            ping.delay(token)
        finally:
            app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
        assert wait_for(lambda: cache.get(f"worker-ping:{token}") == "pong"), "worker did not run the task"
    finally:
        worker.terminate()
        worker.wait(timeout=20)


@pytest.mark.worker
def test_embedded_filesystem_transport_runs_the_same_task(tmp_path):
    """The demo's worker: no broker service, kombu's filesystem transport under var/."""
    token = uuid.uuid4().hex
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scrm.settings.dev",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "SCRM_VAR_DIR": str(tmp_path),
    }
    worker = start_worker(env, stderr=subprocess.PIPE)
    try:
        sender = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import django; django.setup(); from scrm.tasks import ping; ping.delay('{token}')",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert sender.returncode == 0, sender.stderr.decode()
        probe = (
            "import django,sys; django.setup(); from django.core.cache import cache; "
            f"sys.exit(0 if cache.get('worker-ping:{token}') == 'pong' else 1)"
        )

        def done() -> bool:
            return (
                subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, check=False).returncode == 0
            )

        assert wait_for(done), "embedded worker did not run the task"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
