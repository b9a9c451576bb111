"""Writes of the platform layer: API keys and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from .actors import Actor
from .errors import ValidationFailed
from .models import API_SCOPES, ApiKey, AuditEntry

API_KEY_MARKER = "scrm"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_api_key(raw: str) -> tuple[str, str] | None:
    """`scrm_<prefix>_<secret>` -> (prefix, whole key), or None when it is not of that form."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_MARKER or not parts[1] or not parts[2]:
        return None
    return parts[1], raw.strip()


@transaction.atomic
def api_key_create(
    *,
    name: str,
    scopes: list[str],
    actor: Actor,
    rate_per_minute: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text, which is never stored nor shown again."""
    name = name.strip()
    if not name:
        raise ValidationFailed({"name": ["A key needs a name."]})
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown:
        raise ValidationFailed(
            {"scopes": [f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(API_SCOPES)}."]}
        )
    if not scopes:
        raise ValidationFailed({"scopes": ["A key needs at least one scope."]})
    if rate_per_minute is not None and rate_per_minute < 1:
        raise ValidationFailed({"rate_per_minute": ["Must be at least 1."]})
    prefix = secrets.token_hex(6)
    plain = f"{API_KEY_MARKER}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=hash_secret(plain),
        scopes=sorted(set(scopes)),
        rate_per_minute=rate_per_minute,
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        subject=api_key,
        summary=f"API key {name} created",
        changes={"scopes": api_key.scopes},
    )
    return api_key, plain


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    """Revoke a key at once; revoking twice changes nothing."""
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db()
    if updated:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.DELETE,
            subject=api_key,
            summary=f"API key {api_key.name} revoked",
        )
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use, writing at most once a minute per key (a conditional update, no race)."""
    now = timezone.now()
    stale = now - timedelta(minutes=1)
    ApiKey.objects.filter(pk=api_key.pk).filter(
        models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=stale)
    ).update(last_used_at=now)


def audit_record_many(
    *,
    actor: Actor,
    action: str,
    model: type[models.Model],
    entries: list[tuple[Any, str, dict[str, Any]]],
) -> None:
    """Append one entry per (subject id, summary, changes) about rows of `model`, in one insert."""
    if not entries:
        return
    subject_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor_user=actor.user,
            actor_api_key=actor.api_key,
            actor_label=actor.label[:150],
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            summary=summary[:300],
            changes=changes,
        )
        for subject_id, summary, changes in entries
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    subject: models.Model,
    summary: str,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log. Callers run inside their own transaction."""
    return AuditEntry.objects.create(
        actor_user=actor.user,
        actor_api_key=actor.api_key,
        actor_label=actor.label[:150],
        action=action,
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
        subject_id=subject.pk,
        summary=summary[:300],
        changes=changes or {},
    )
