"""Social CRM project package: settings, auth and roles, API keys, audit log."""

from .celery import app as celery_app

__all__ = ("celery_app",)
