"""Customer tasks: thin wrappers that call one service."""

from __future__ import annotations

from celery import shared_task

from scrm.actors import Actor

from .matching import resolve_customers, resolve_requested


@shared_task(name="customers.resolve_identities", acks_late=True)
def resolve_identities_task() -> dict[str, int]:
    """Nightly identity resolution over every live customer (beat schedule in settings)."""
    summary = resolve_customers(actor=Actor.system("nightly resolution"))
    return {"pairs_scored": summary.pairs_scored, "merged": summary.merged, "queued": summary.queued}


@shared_task(name="customers.resolve_requested", acks_late=True)
def resolve_requested_task() -> dict[str, int]:
    """Resolution of the customers partners and imports brought since the last run."""
    summary = resolve_requested(actor=Actor.system("resolution after partner changes"))
    return {"pairs_scored": summary.pairs_scored, "merged": summary.merged, "queued": summary.queued}
