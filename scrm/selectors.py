"""Reads of the platform layer."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from .models import ApiKey, AuditEntry
from .services import hash_secret, split_api_key


def api_key_for_secret(raw: str) -> ApiKey | None:
    """The active key whose secret this is, compared in constant time; None otherwise."""
    import hmac

    parsed = split_api_key(raw)
    if parsed is None:
        return None
    prefix, plain = parsed
    api_key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_secret(plain)):
        return None
    return api_key


def audit_entries_for(*, subject: models.Model, limit: int = 50) -> QuerySet[AuditEntry]:
    subject_type = ContentType.objects.get_for_model(subject, for_concrete_model=True)
    return AuditEntry.objects.filter(subject_type=subject_type, subject_id=subject.pk).select_related(
        "actor_user"
    )[:limit]
