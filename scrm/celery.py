"""The Celery application.

The same task code runs everywhere; only the transport changes:
- production and CI: Redis (REDIS_URL);
- the embedded demo: kombu's filesystem transport under var/, so a real worker
  process runs without any outside service.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.dev")

app = Celery("scrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
