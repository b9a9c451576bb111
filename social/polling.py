"""Reading the networks: one listening rule, page by page, from its cursor; and the
batches pushed to us. Each page is ingested and the rule's cursor moved in one
transaction, so a crash between pages loses nothing and repeats nothing.

Cursor of a rule (JSON): `next` is the provider's cursor inside the pass under way,
`newest` the newest position seen in that pass, `since_id` the newest position of the
last finished pass (the next pass asks only for what is newer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .ingestion import IngestSummary, post_ingest_batch
from .listening import x_search_query
from .models import ConnectedAccount, InboundBatch, ListeningRule, Post
from .providers.base import FetchQuery, Page, Problem, ProviderError, Stream
from .providers.files import RecordError, post_from_contract
from .services import account_record_failure, account_record_success, provider_of

logger = logging.getLogger(__name__)


@dataclass
class PollResult:
    """What one poll did; `skipped` says why nothing was fetched."""

    pages: int = 0
    summary: IngestSummary = field(default_factory=IngestSummary)
    skipped: str = ""


def _query(rule: ListeningRule, cursor: dict[str, Any], limit: int) -> FetchQuery:
    stream = Stream(rule.stream)
    target = x_search_query(rule) if stream is Stream.SEARCH else ""
    return FetchQuery(
        stream=stream, target=target, cursor=cursor.get("next"), since_id=cursor.get("since_id"), limit=limit
    )


def advance(cursor: dict[str, Any], page: Page) -> dict[str, Any]:
    """The rule's cursor after `page` was stored."""
    newest = cursor.get("newest")
    candidates = [value for value in (newest, page.newest_id) if value]
    if candidates:
        # Ids are numbers on every network we poll; compare them as numbers when they are.
        newest = max(candidates, key=lambda v: (len(v), v) if str(v).isdigit() else (0, str(v)))
    if page.next_cursor:
        return {**cursor, "next": page.next_cursor, "newest": newest}
    return {"since_id": newest or cursor.get("since_id")}


def _skip_reason(rule: ListeningRule, account: ConnectedAccount | None, now: datetime) -> str:
    if not rule.active:
        return "rule inactive"
    if account is None:
        return "no account polls this rule"
    if not account.active:
        return "account inactive"
    if account.health == ConnectedAccount.Health.UNHEALTHY:
        return "account needs attention"
    if account.cap_reached:
        return "monthly post cap reached"
    return ""


def rule_poll(*, rule_id: int, max_pages: int | None = None) -> PollResult:
    """Read up to `max_pages` pages of a rule from its cursor and ingest each one.

    Provider errors propagate (the task retries the retryable ones); the account's
    health records them either way. The rule's next poll is set from its account's
    polling interval, or the rate-limit reset when that is later.
    """
    max_pages = max_pages or settings.SOCIAL_POLL_MAX_PAGES
    rule = ListeningRule.objects.select_related("account").get(pk=rule_id)
    account = rule.account
    now = timezone.now()
    result = PollResult(skipped=_skip_reason(rule, account, now))
    if result.skipped:
        return result
    assert account is not None
    if (
        account.rate_limit_reset_at
        and account.rate_limit_remaining == 0
        and account.rate_limit_reset_at > now
    ):
        result.skipped = "rate limited"
        ListeningRule.objects.filter(pk=rule.pk).update(next_poll_at=account.rate_limit_reset_at)
        return result
    provider = provider_of(account)
    try:
        for _ in range(max_pages):
            if account.cap_reached:
                result.skipped = "monthly post cap reached"
                break
            cursor = ListeningRule.objects.values_list("cursor", flat=True).get(pk=rule.pk) or {}
            try:
                page = provider.fetch(_query(rule, cursor, settings.SOCIAL_POLL_PAGE_SIZE))
            except ProviderError as error:
                account_record_failure(account=account, error=error)
                ListeningRule.objects.filter(pk=rule.pk).update(last_error=error.message[:1000])
                raise
            with transaction.atomic():
                # Compare and swap: if another poll of this rule (a retry, a redelivered
                # message) moved the cursor since we read it, its page is stored already.
                locked = (
                    ListeningRule.objects.select_for_update().values_list("cursor", flat=True).get(pk=rule.pk)
                )
                if (locked or {}) != cursor:
                    continue
                summary = post_ingest_batch(
                    posts=page.posts, referenced=page.referenced, problems=page.problems,
                    source=Post.Source.POLL, rule=rule,
                )  # fmt: skip
                ListeningRule.objects.filter(pk=rule.pk).update(
                    cursor=advance(cursor, page), last_polled_at=timezone.now(), last_error=""
                )
                account_record_success(
                    account=account, rate_limit=page.rate_limit, posts_read=len(page.posts)
                )
            result.pages += 1
            result.summary.add(summary)
            if page.next_cursor is None:
                break
    finally:
        account.refresh_from_db()
        next_poll = timezone.now() + timedelta(seconds=account.poll_interval_seconds)
        if account.rate_limit_reset_at and account.rate_limit_remaining == 0:
            next_poll = max(next_poll, account.rate_limit_reset_at)
        ListeningRule.objects.filter(pk=rule.pk).update(next_poll_at=next_poll)
    return result


def rules_due(*, now: datetime | None = None) -> list[int]:
    """Ids of the active rules whose next poll has come, with an active account."""
    now = now or timezone.now()
    return list(
        ListeningRule.objects.filter(active=True, account__active=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .exclude(account__health=ConnectedAccount.Health.UNHEALTHY)
        .order_by(F("next_poll_at").asc(nulls_first=True))
        .values_list("pk", flat=True)
    )


def inbound_ingest(*, batch_id: str) -> IngestSummary | None:
    """Ingest a batch pushed to us, once: its status moves to done in the same
    transaction as its posts, and a batch already done is left alone."""
    with transaction.atomic():
        batch = InboundBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status == InboundBatch.Status.DONE:
            return None
        posts = []
        problems: list[Problem] = []
        for index, item in enumerate(batch.items):
            try:
                posts.append(post_from_contract(item))
            except (RecordError, ValueError) as error:
                problems.append(Problem(location=f"item {index}", message=str(error)))
        summary = post_ingest_batch(posts=posts, problems=problems, source=batch.source)
        batch.status = InboundBatch.Status.DONE
        batch.summary = summary.as_dict()
        batch.processed_at = timezone.now()
        batch.save(update_fields=["status", "summary", "processed_at"])
    return summary


def inbound_failed(*, batch_id: str, error: str) -> None:
    """Give up on a batch after its retries: kept, with the reason, for a person to see."""
    InboundBatch.objects.filter(pk=batch_id).exclude(status=InboundBatch.Status.DONE).update(
        status=InboundBatch.Status.FAILED, error=error[:2000], processed_at=timezone.now()
    )
