"""Linking social accounts to the customers who own them.

An account seen on a network (an author of posts) is linked to a customer when the evidence
is strong enough, with the method, the confidence and the evidence kept on the identity:
- the customer declared that handle on that network (confidence 0.95);
- the account's profile e-mail is a verified e-mail of exactly one customer (0.9);
- the account's name is the full name of exactly one customer and its handle looks like
  that name (0.8 and up, by handle-to-name similarity).
Accounts a person linked or unlinked by hand are never touched.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from rapidfuzz import fuzz

from scrm.actors import Actor
from scrm.models import AuditEntry
from scrm.services import audit_record

from .models import ContactPoint, Customer, SocialIdentity


@dataclass
class LinkSummary:
    examined: int = 0
    linked: int = 0
    ambiguous: int = 0


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if c.isalnum()).lower()


def _declared_owner(identity: SocialIdentity) -> Customer | None:
    declared = SocialIdentity.objects.filter(
        network=identity.network,
        handle_normalized=identity.handle_normalized,
        external_id__isnull=True,
        customer__isnull=False,
        customer__merged_into__isnull=True,
    ).exclude(pk=identity.pk)
    owners = {int(d.customer_id) for d in declared if d.customer_id}
    return Customer.objects.get(pk=owners.pop()) if len(owners) == 1 else None


def _email_owner(identity: SocialIdentity) -> Customer | None:
    email = str(identity.profile.get("email") or "").strip().lower()
    if not email:
        return None
    owners = set(
        ContactPoint.objects.filter(
            kind=ContactPoint.Kind.EMAIL, value=email, verified=True, customer__merged_into__isnull=True
        ).values_list("customer_id", flat=True)
    )
    return Customer.objects.get(pk=owners.pop()) if len(owners) == 1 else None


def _name_owner(identity: SocialIdentity) -> tuple[Customer, float] | None:
    words = (identity.display_name or "").split()
    if len(words) < 2:
        return None
    first, last = words[0], " ".join(words[1:])
    namesakes = list(
        Customer.objects.filter(merged_into__isnull=True)
        .annotate(first=Lower("first_name"), last=Lower("last_name"))
        .filter(first=first.lower(), last=last.lower())[:2]
    )
    if len(namesakes) != 1:
        return None
    customer = namesakes[0]
    similarity = fuzz.partial_ratio(_plain(identity.handle), _plain(customer.full_name)) / 100
    return customer, round(0.8 * similarity + 0.15 * (similarity >= 0.9), 3)


def _evidence(identity: SocialIdentity) -> tuple[Customer, float, dict[str, Any]] | None:
    owner = _declared_owner(identity)
    if owner:
        return owner, 0.95, {"rule": "declared handle", "handle": identity.handle_normalized}
    owner = _email_owner(identity)
    if owner:
        return owner, 0.9, {"rule": "profile e-mail", "email": identity.profile.get("email")}
    named = _name_owner(identity)
    if named:
        customer, confidence = named
        return customer, confidence, {"rule": "name and handle", "name": identity.display_name}
    return None


def identities_link(*, actor: Actor, identity_ids: Iterable[int] | None = None) -> LinkSummary:
    """Link the unlinked accounts (all, or those given) whose owner the evidence shows."""
    minimum = settings.IDENTITY_LINK_MIN_CONFIDENCE
    unlinked: QuerySet[SocialIdentity] = SocialIdentity.objects.filter(customer__isnull=True).exclude(
        link_method=SocialIdentity.LinkMethod.MANUAL  # a person unlinked it: leave it so
    )
    if identity_ids is not None:
        unlinked = unlinked.filter(pk__in=list(identity_ids))
    summary = LinkSummary()
    for identity in unlinked.filter(~Q(handle_normalized="") | ~Q(profile={})).iterator():
        summary.examined += 1
        found = _evidence(identity)
        if found is None:
            continue
        customer, confidence, evidence = found
        if confidence < minimum:
            summary.ambiguous += 1
            continue
        summary.linked += _link(identity, customer, confidence, evidence, actor=actor)
    return summary


@transaction.atomic
def _link(
    identity: SocialIdentity, customer: Customer, confidence: float, evidence: dict[str, Any], *, actor: Actor
) -> int:
    # Conditional update: a person linking it meanwhile wins.
    linked = SocialIdentity.objects.filter(pk=identity.pk, customer__isnull=True).update(
        customer=customer,
        link_method=SocialIdentity.LinkMethod.AUTOMATIC,
        link_confidence=confidence,
        link_evidence=evidence,
        linked_at=timezone.now(),
    )
    if linked:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.LINK,
            subject=customer,
            summary=f"{identity} linked ({evidence['rule']}, confidence {confidence:.2f})",
            changes={"identity": identity.pk, **evidence},
        )
    return linked
