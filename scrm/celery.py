"""The Celery application.

The same task code runs everywhere; only the transport changes:
- production and CI: Redis (REDIS_URL);
- the embedded demo: kombu's filesystem transport under var/, so a real worker
  process runs without any outside service.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.dev")

app = Celery("scrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Keep the worker's database connection between tasks, as CONN_MAX_AGE says. Celery's
# Django fixup closes every connection before and after each task unless DB_REUSE_MAX is
# set (reconnecting costs ~11 ms, a new PostgreSQL backend each time); CELERY_DB_REUSE_MAX
# (settings) turns that off, and these handlers do what Django does around a request
# instead: close a connection only when it is older than CONN_MAX_AGE or unusable (an
# error left it broken), so a database restart still costs one failed task, not all.
@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(task: object = None, **_kwargs: object) -> None:
    if getattr(getattr(task, "request", None), "is_eager", False):
        return  # run in-process (tests, demo): the caller's connection and transaction
    from django.db import close_old_connections

    close_old_connections()
