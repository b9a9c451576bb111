"""Platform tasks."""

from celery import shared_task
from django.core.cache import cache


@shared_task(name="scrm.ping")
def ping(token: str) -> str:
    """Answer a liveness probe: leave the token in the cache for whoever asked."""
    cache.set(f"worker-ping:{token}", "pong", 60)
    return "pong"
