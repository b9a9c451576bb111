"""Customer tasks: thin wrappers that call one service."""

from __future__ import annotations

from celery import shared_task

from scrm.actors import Actor

from .matching import resolve_customers


@shared_task(name="customers.resolve_identities", acks_late=True)
def resolve_identities_task() -> dict[str, int]:
    """Nightly identity resolution over every live customer (beat schedule in settings)."""
    summary = resolve_customers(actor=Actor.system("nightly resolution"))
    return {"pairs_scored": summary.pairs_scored, "merged": summary.merged, "queued": summary.queued}
