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
from scrm.db import update_rows
from scrm.models import AuditEntry
from scrm.services import audit_record_many

from .models import ContactPoint, Customer, SocialIdentity


@dataclass
class LinkSummary:
    examined: int = 0
    linked: int = 0
    ambiguous: int = 0


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if c.isalnum()).lower()


Evidence = tuple[int, float, dict[str, Any]]  # (customer id, confidence, why)


def _declared_owners(identities: list[SocialIdentity]) -> dict[tuple[str, str], set[int]]:
    """(network, handle) -> the live customers who declared that handle there."""
    handles = {(i.network, i.handle_normalized) for i in identities if i.handle_normalized}
    owners: dict[tuple[str, str], set[int]] = {}
    if not handles:
        return owners
    declared = SocialIdentity.objects.filter(
        handle_normalized__in={handle for _, handle in handles},  # the network is checked below
        external_id__isnull=True,
        customer__isnull=False,
        customer__merged_into__isnull=True,
    ).values_list("network", "handle_normalized", "customer_id")
    for network, handle, customer_id in declared:
        if (network, handle) in handles:
            owners.setdefault((network, handle), set()).add(int(customer_id))
    return owners


def _profile_email(identity: SocialIdentity) -> str:
    return str((identity.profile or {}).get("email") or "").strip().lower()


def _email_owners(identities: list[SocialIdentity]) -> dict[str, set[int]]:
    """Profile e-mail -> the live customers for whom it is a verified e-mail."""
    emails = {email for i in identities if (email := _profile_email(i))}
    owners: dict[str, set[int]] = {}
    if emails:
        for value, customer_id in ContactPoint.objects.filter(
            kind=ContactPoint.Kind.EMAIL, value__in=emails, verified=True, customer__merged_into__isnull=True
        ).values_list("value", "customer_id"):
            owners.setdefault(value, set()).add(int(customer_id))
    return owners


def _name_of(identity: SocialIdentity) -> tuple[str, str] | None:
    words = (identity.display_name or "").split()
    return (words[0].lower(), " ".join(words[1:]).lower()) if len(words) >= 2 else None


def _namesakes(identities: list[SocialIdentity]) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """(first, last) in lower case -> up to two live customers of that name, with their full name."""
    names = {name for i in identities if (name := _name_of(i))}
    found: dict[tuple[str, str], list[tuple[int, str]]] = {}
    if not names:
        return found
    rows = (
        Customer.objects.filter(merged_into__isnull=True)
        .annotate(first=Lower("first_name"), last=Lower("last_name"))
        .filter(first__in={first for first, _ in names}, last__in={last for _, last in names})
        .values_list("pk", "first", "last", "first_name", "last_name")
    )
    for pk, first, last, first_name, last_name in rows:
        if (first, last) in names:
            found.setdefault((first, last), []).append((pk, f"{first_name} {last_name}".strip()))
    return found


def _evidence(identities: list[SocialIdentity]) -> dict[int, Evidence]:
    """The strongest evidence of each identity's owner, found for all of them in three queries:
    a declared handle (0.95), a verified profile e-mail (0.9), a unique name whose handle
    looks like it (0.8 and up, by handle-to-name similarity)."""
    declared = _declared_owners(identities)
    emails = _email_owners(identities)
    namesakes = _namesakes(identities)
    found: dict[int, Evidence] = {}
    for identity in identities:
        owners = declared.get((identity.network, identity.handle_normalized), set())
        if len(owners) == 1:
            found[identity.pk] = (next(iter(owners)), 0.95, {"rule": "declared handle",
                                                           "handle": identity.handle_normalized})  # fmt: skip
            continue
        email = _profile_email(identity)
        if email and len(emails.get(email, ())) == 1:
            found[identity.pk] = (next(iter(emails[email])), 0.9, {"rule": "profile e-mail", "email": email})
            continue
        name = _name_of(identity)
        candidates = namesakes.get(name, []) if name else []
        if len(candidates) == 1:
            customer_id, full_name = candidates[0]
            similarity = fuzz.partial_ratio(_plain(identity.handle), _plain(full_name)) / 100
            confidence = round(0.8 * similarity + 0.15 * (similarity >= 0.9), 3)
            found[identity.pk] = (customer_id, confidence, {"rule": "name and handle",
                                                           "name": identity.display_name})  # fmt: skip
    return found


def identities_link(*, actor: Actor, identity_ids: Iterable[int] | None = None) -> LinkSummary:
    """Link the unlinked accounts (all, or those given) whose owner the evidence shows."""
    minimum = settings.IDENTITY_LINK_MIN_CONFIDENCE
    unlinked: QuerySet[SocialIdentity] = SocialIdentity.objects.filter(customer__isnull=True).exclude(
        link_method=SocialIdentity.LinkMethod.MANUAL  # a person unlinked it: leave it so
    )
    if identity_ids is not None:
        unlinked = unlinked.filter(pk__in=list(identity_ids))
    summary = LinkSummary()
    candidates = unlinked.filter(~Q(handle_normalized="") | ~Q(profile={})).only(
        "id", "network", "handle", "handle_normalized", "display_name", "profile"
    )
    if identity_ids is not None:  # a few, from ingestion: one plain query
        _link_chunk(list(candidates), minimum, summary, actor)
        return summary
    chunk: list[SocialIdentity] = []
    for identity in candidates.iterator(chunk_size=2000):
        chunk.append(identity)
        if len(chunk) == 2000:
            _link_chunk(chunk, minimum, summary, actor)
            chunk = []
    _link_chunk(chunk, minimum, summary, actor)
    return summary


def _link_chunk(identities: list[SocialIdentity], minimum: float, summary: LinkSummary, actor: Actor) -> None:
    summary.examined += len(identities)
    evidence = _evidence(identities) if identities else {}
    links = []
    for identity in identities:
        if identity.pk not in evidence:
            continue
        customer_id, confidence, why = evidence[identity.pk]
        if confidence < minimum:
            summary.ambiguous += 1
        else:
            links.append((identity, customer_id, confidence, why))
    if links:
        summary.linked += _link(links, actor=actor)


@transaction.atomic
def _link(links: list[tuple[SocialIdentity, int, float, dict[str, Any]]], *, actor: Actor) -> int:
    """Link each (identity, customer id, confidence, evidence); audit each link."""
    now = timezone.now()
    by_id = {identity.pk: (identity, customer_id, confidence, evidence)
             for identity, customer_id, confidence, evidence in links}  # fmt: skip
    # One conditional UPDATE: an account a person linked meanwhile keeps their choice.
    changed = update_rows(
        SocialIdentity,
        [
            {"id": identity.pk, "customer": customer_id, "link_method": SocialIdentity.LinkMethod.AUTOMATIC,
             "link_confidence": confidence, "link_evidence": evidence, "linked_at": now}
            for identity, customer_id, confidence, evidence in links
        ],
        only_if_null=["customer"],
    )  # fmt: skip
    done = [by_id[pk] for pk in changed]
    audit_record_many(
        actor=actor,
        action=AuditEntry.Action.LINK,
        model=Customer,
        entries=[
            (customer_id, f"{identity} linked ({evidence['rule']}, confidence {confidence:.2f})",
             {"identity": identity.pk, **evidence})
            for identity, customer_id, confidence, evidence in done
        ],
    )  # fmt: skip
    return len(done)
