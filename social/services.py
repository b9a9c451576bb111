"""Writes of the social app besides ingestion itself (social/ingestion.py): connected
accounts and their health, listening rules, and posts pushed to us (partner API,
webhooks), which are kept as an InboundBatch until a worker has ingested them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from scrm.actors import Actor
from scrm.errors import ValidationFailed
from scrm.models import ApiKey, AuditEntry
from scrm.services import audit_record

from .listening import split_terms
from .models import ConnectedAccount, InboundBatch, ListeningRule
from .providers.base import AuthError, Provider, ProviderError, RateLimit
from .providers.registry import provider_for

# Which network each provider reads.
PROVIDER_NETWORKS = {"x": "x", "facebook": "facebook", "fake": "x"}
# The secrets each provider needs (the rest of its settings are optional).
REQUIRED_CREDENTIALS = {"x": ("bearer_token",), "facebook": ("page_id", "access_token"), "fake": ()}
AUTH_ERROR_STATUSES = frozenset({401, 403})


# --- connected accounts --------------------------------------------------------------


def _check_account(
    provider: str, name: str, credentials: Mapping[str, Any], poll_interval_seconds: int
) -> None:
    errors: dict[str, list[str]] = {}
    if provider not in PROVIDER_NETWORKS:
        errors["provider"] = [gettext("Unknown provider %(name)s.") % {"name": repr(provider)}]
    if not name.strip():
        errors["name"] = [gettext("An account needs a name.")]
    for key in REQUIRED_CREDENTIALS.get(provider, ()):
        if not str(credentials.get(key) or "").strip():
            errors[key] = [gettext("Required for this network.")]
    if poll_interval_seconds < 15:
        errors["poll_interval_seconds"] = [gettext("Poll at most every 15 seconds.")]
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def account_create(
    *,
    name: str,
    provider: str,
    credentials: Mapping[str, Any],
    actor: Actor,
    handle: str = "",
    external_id: str = "",
    poll_interval_seconds: int = 300,
    monthly_post_cap: int | None = None,
) -> ConnectedAccount:
    """Connect a brand account. Secrets are stored encrypted and never shown again."""
    _check_account(provider, name, credentials, poll_interval_seconds)
    if ConnectedAccount.objects.filter(name=name.strip()).exists():
        raise ValidationFailed({"name": [gettext("An account with this name exists already.")]})
    account = ConnectedAccount(
        name=name.strip(),
        provider=provider,
        network=PROVIDER_NETWORKS[provider],
        handle=handle.strip().lstrip("@"),
        external_id=external_id.strip()
        or str(credentials.get("page_id") or credentials.get("account_id") or ""),
        poll_interval_seconds=poll_interval_seconds,
        monthly_post_cap=monthly_post_cap,
    )
    account.credentials = {key: value for key, value in credentials.items() if value not in (None, "")}
    account.save()
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, subject=account, summary=f"Connected {account}"
    )
    return account


@transaction.atomic
def account_update(
    *, account: ConnectedAccount, actor: Actor, credentials: Mapping[str, Any] | None = None, **fields: Any
) -> ConnectedAccount:
    """Change an account's settings; `credentials` given are merged into the stored ones
    (an empty value keeps the stored secret, so a form never has to show it)."""
    allowed = {"name", "handle", "external_id", "active", "poll_interval_seconds", "monthly_post_cap"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed({name: [gettext("Cannot be changed.")] for name in sorted(unknown)})
    merged = dict(account.credentials)
    merged.update({key: value for key, value in (credentials or {}).items() if value not in (None, "")})
    _check_account(
        account.provider,
        str(fields.get("name", account.name)),
        merged,
        int(fields.get("poll_interval_seconds", account.poll_interval_seconds)),
    )
    for name, value in fields.items():
        setattr(account, name, value.strip() if isinstance(value, str) else value)
    account.handle = account.handle.lstrip("@")
    if credentials:
        account.credentials = merged
        # New secrets deserve a fresh verdict.
        account.health = ConnectedAccount.Health.UNKNOWN
        account.last_error = ""
    account.save()
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, subject=account, summary=f"Changed {account}",
                 changes={"fields": sorted(fields), "credentials": bool(credentials)})  # fmt: skip
    return account


def account_record_success(
    *, account: ConnectedAccount, rate_limit: RateLimit | None = None, posts_read: int = 0
) -> None:
    """A call worked: the account is healthy; remember the rate-limit budget and usage."""
    now = timezone.now()
    month = now.date().replace(day=1)
    updates: dict[str, Any] = {
        "health": ConnectedAccount.Health.HEALTHY,
        "last_success_at": now,
        "updated_at": now,
    }
    if rate_limit is not None:
        updates["rate_limit_remaining"] = rate_limit.remaining
        updates["rate_limit_reset_at"] = rate_limit.reset_at
    if account.usage_month != month:
        updates.update(usage_month=month, posts_read_this_month=posts_read)
    else:
        updates["posts_read_this_month"] = F("posts_read_this_month") + posts_read
    ConnectedAccount.objects.filter(pk=account.pk).update(**updates)
    account.refresh_from_db()


def account_record_failure(*, account: ConnectedAccount, error: ProviderError) -> None:
    """A call failed. Credentials refused (401/403, revoked or missing permission) make the
    account unhealthy until a person fixes it: no retry can help. Rate limits and network
    trouble leave it retrying, with the moment the network told us to come back."""
    now = timezone.now()
    permanent = isinstance(error, AuthError) or error.status in AUTH_ERROR_STATUSES
    updates: dict[str, Any] = {
        "health": ConnectedAccount.Health.UNHEALTHY if permanent else ConnectedAccount.Health.DEGRADED,
        "last_error_at": now,
        "last_error": error.message[:1000],
        "updated_at": now,
    }
    if error.retry_at is not None:
        updates["rate_limit_reset_at"] = error.retry_at
        updates["rate_limit_remaining"] = 0
    ConnectedAccount.objects.filter(pk=account.pk).update(**updates)
    account.refresh_from_db()


def provider_of(account: ConnectedAccount) -> Provider:
    """The account's provider, built from its secrets and what we know of the account."""
    credentials = dict(account.credentials)
    if account.provider == "x":
        credentials["account_id"] = credentials.get("account_id") or account.external_id or None
        credentials["username"] = credentials.get("username") or account.handle or None
    return provider_for(account.provider, credentials)


def account_test(*, account: ConnectedAccount, actor: Actor) -> dict[str, Any]:
    """ "Test connection": ask the network who the credentials belong to, record the
    verdict on the account's health and fill in its id and handle when missing.
    Raises the ProviderError when the network refuses."""
    try:
        me = provider_of(account).verify_credentials()
    except ProviderError as error:
        account_record_failure(account=account, error=error)
        raise
    account_record_success(account=account)
    changed: dict[str, Any] = {"verified_at": timezone.now()}
    if not account.external_id and me.get("id"):
        changed["external_id"] = str(me["id"])
    if not account.handle and me.get("username"):
        changed["handle"] = str(me["username"])
    ConnectedAccount.objects.filter(pk=account.pk).update(**changed)
    account.refresh_from_db()
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, subject=account, summary=f"Tested {account}: OK"
    )
    return me


# --- listening rules -----------------------------------------------------------------


def _rule_terms(values: Sequence[str] | str, strip: str = "") -> list[str]:
    return split_terms(values if isinstance(values, str) else "\n".join(values), strip=strip)


def _rule_fields(
    *, name: str, kind: str, stream: str, account: ConnectedAccount | None, keywords: Sequence[str] | str,
    hashtags: Sequence[str] | str, handles: Sequence[str] | str, languages: Sequence[str] | str,
) -> dict[str, Any]:  # fmt: skip
    values = {
        "name": name.strip(),
        "kind": kind,
        "stream": stream,
        "account": account,
        "keywords": _rule_terms(keywords),
        "hashtags": _rule_terms(hashtags, "#"),
        "handles": _rule_terms(handles, "@"),
        "languages": [code.lower()[:2] for code in _rule_terms(languages)],
    }
    errors: dict[str, list[str]] = {}
    if not values["name"]:
        errors["name"] = [gettext("A rule needs a name.")]
    if kind not in ListeningRule.Kind.values:
        errors["kind"] = [
            gettext("Choose one of %(values)s.") % {"values": ", ".join(ListeningRule.Kind.values)}
        ]
    if stream not in ListeningRule.Stream.values:
        errors["stream"] = [
            gettext("Choose one of %(values)s.") % {"values": ", ".join(ListeningRule.Stream.values)}
        ]
    searching = stream == ListeningRule.Stream.SEARCH
    if searching and not (values["keywords"] or values["hashtags"] or values["handles"]):
        errors["keywords"] = [gettext("Give at least one keyword, hashtag or handle.")]
    if account is not None:
        if (
            stream == ListeningRule.Stream.FEED
            and account.network != "facebook"
            and account.provider != "fake"
        ):
            errors["stream"] = [gettext("Only a Facebook page has a feed to read.")]
        if stream == ListeningRule.Stream.SEARCH and account.network == "facebook":
            errors["stream"] = [gettext("Facebook offers no keyword search: read the page feed instead.")]
    elif stream != ListeningRule.Stream.SEARCH:
        errors["account"] = [gettext("Choose the account whose mentions or feed to read.")]
    if errors:
        raise ValidationFailed(errors)
    return values


@transaction.atomic
def rule_create(*, actor: Actor, **fields: Any) -> ListeningRule:
    """A listening rule; polled by its account (if any) from now on."""
    values = _rule_fields(**fields)
    if ListeningRule.objects.filter(name=values["name"]).exists():
        raise ValidationFailed({"name": [gettext("A rule with this name exists already.")]})
    rule = ListeningRule.objects.create(**values, next_poll_at=timezone.now())
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, subject=rule, summary=f"Listening rule {rule}")
    return rule


@transaction.atomic
def rule_update(
    *, rule: ListeningRule, actor: Actor, active: bool | None = None, **fields: Any
) -> ListeningRule:
    """Change a rule. New terms restart its cursor (the old position meant another query)."""
    values = _rule_fields(**fields)
    if ListeningRule.objects.filter(name=values["name"]).exclude(pk=rule.pk).exists():
        raise ValidationFailed({"name": [gettext("A rule with this name exists already.")]})
    query_changed = any(
        values[k] != getattr(rule, k)
        for k in ("keywords", "hashtags", "handles", "languages", "stream", "account")
    )
    for name, value in values.items():
        setattr(rule, name, value)
    if active is not None:
        rule.active = active
    if query_changed:
        rule.cursor = {}
        rule.next_poll_at = timezone.now()
    rule.save()
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, subject=rule, summary=f"Listening rule {rule} changed"
    )
    return rule


# --- posts pushed to us --------------------------------------------------------------


def _digest(source: str, items: Sequence[Mapping[str, Any]]) -> str:
    body = json.dumps([source, list(items)], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def inbound_batch_receive(
    *,
    source: str,
    items: Sequence[Mapping[str, Any]],
    account: ConnectedAccount | None = None,
    api_key: ApiKey | None = None,
) -> tuple[InboundBatch, bool]:
    """Keep posts pushed to us (already validated, in the api-contract shape) and have a
    worker ingest them once this transaction commits. The same items delivered again
    return the first batch (created=False) and enqueue nothing; a batch that failed is
    queued again."""
    digest = _digest(source, items)
    with transaction.atomic():
        batch, created = InboundBatch.objects.get_or_create(
            digest=digest,
            defaults={"source": source, "items": list(items), "account": account, "api_key": api_key},
        )
        if not created and batch.status == InboundBatch.Status.FAILED:
            InboundBatch.objects.filter(pk=batch.pk).update(status=InboundBatch.Status.QUEUED, error="")
            batch.status = InboundBatch.Status.QUEUED
            created = True
        if created:
            from .tasks import ingest_inbound_task

            batch_id = str(batch.pk)
            transaction.on_commit(lambda: ingest_inbound_task.delay(batch_id))
    return batch, created


def inbound_batches_stuck(*, older_than: timedelta = timedelta(minutes=10)) -> list[str]:
    """Ids of batches still queued long after they arrived (a lost message): the beat
    sweeper enqueues them again."""
    moment: datetime = timezone.now() - older_than
    return [
        str(pk)
        for pk in InboundBatch.objects.filter(status=InboundBatch.Status.QUEUED, received_at__lt=moment)
        .order_by("received_at")
        .values_list("pk", flat=True)[:500]
    ]
