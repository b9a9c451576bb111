"""Social tasks: thin wrappers that load ids and call one service.

Queues: `ingest` for polling and pushed batches. Retries only for what can succeed
later (rate limits at the moment the network gave, network trouble with backoff);
a refused credential marks the account unhealthy and stops there.
"""

from __future__ import annotations

import gc
import logging
from datetime import UTC, datetime
from typing import Any

from celery import Task, shared_task, signals
from django.db import DatabaseError

from . import nlp
from .cases import cases_assign_round_robin, reply_deliver
from .polling import inbound_failed, inbound_ingest, rule_poll, rules_due
from .providers.base import ProviderError
from .services import inbound_batches_stuck

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def _countdown(task: Task, error: ProviderError | None = None) -> int:
    """Seconds until the next try: when the network said, else exponential backoff."""
    if error is not None and error.retry_at is not None:
        return max(1, int((error.retry_at - datetime.now(tz=UTC)).total_seconds()) + 1)
    return int(min(15 * 2**task.request.retries, 3600))


@signals.worker_init.connect
def _preload_text_analysis(**_kwargs: object) -> None:
    """Load the language model and both sentiment lexicons once, before the pool forks
    (its processes share them), then freeze them out of the garbage collector's sight:
    otherwise every collection walks the lexicons' hundreds of thousands of objects, which
    makes each batch noticeably slower (docs/performance.md)."""
    nlp.preload()
    gc.freeze()
    # A batch allocates a few hundred thousand short-lived objects: collect the young
    # generation less often (the default, 700 allocations, runs it hundreds of times a batch).
    gc.set_threshold(50_000, 20, 20)


@shared_task(name="social.poll_due_rules", ignore_result=True)
def poll_due_rules_task() -> int:
    """Beat, every minute: enqueue a poll for each rule whose time has come."""
    due = rules_due()
    for rule_id in due:
        poll_rule_task.delay(rule_id)
    for batch_id in inbound_batches_stuck():
        ingest_inbound_task.delay(batch_id)
    return len(due)


@shared_task(name="social.poll_rule", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def poll_rule_task(self: Task, rule_id: int) -> dict[str, Any]:
    """Poll one listening rule from its cursor (see social.polling.rule_poll)."""
    try:
        result = rule_poll(rule_id=rule_id)
    except ProviderError as error:
        if not error.retryable:
            logger.warning("rule %s: %s (not retried)", rule_id, error.message)
            return {"error": error.message}
        raise self.retry(exc=error, countdown=_countdown(self, error)) from error
    except DatabaseError as error:  # a deadlock or a lost connection: the page rolled back
        raise self.retry(exc=error, countdown=_countdown(self)) from error
    return {"pages": result.pages, "skipped": result.skipped, **result.summary.as_dict()}


@shared_task(name="social.ingest_inbound", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def ingest_inbound_task(self: Task, batch_id: str) -> dict[str, Any] | None:
    """Ingest a batch of posts pushed by a partner or a webhook."""
    try:
        summary = inbound_ingest(batch_id=batch_id)
    except DatabaseError as error:
        if self.request.retries >= MAX_RETRIES:
            inbound_failed(batch_id=batch_id, error=str(error))
            raise
        raise self.retry(exc=error, countdown=_countdown(self)) from error
    return summary.as_dict() if summary else None


@shared_task(name="social.deliver_reply", acks_late=True)
def deliver_reply_task(reply_id: int) -> str | None:
    """Send one queued reply through the network (at most once; see social.cases)."""
    reply = reply_deliver(reply_id=reply_id)
    return reply.status if reply else None


@shared_task(name="social.assign_cases", ignore_result=True)
def assign_cases_task() -> int:
    """Beat, every minute: new unassigned cases go round robin to the agents on duty."""
    return cases_assign_round_robin()
