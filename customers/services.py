"""Every write to the customer record.

Input arrives as a `CustomerData` (from the API, the pages, imports or the demo), is
normalised and validated as a whole first, and only then written in one transaction.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from scrm.actors import Actor
from scrm.models import AuditEntry
from scrm.services import audit_record

from .errors import AmbiguousMatch, Conflict, CustomerMerged, ValidationFailed
from .inputs import (
    SCALAR_FIELDS,
    AddressInput,
    CustomerData,
    Prepared,
    prepare,
    prepare_partial,
)
from .models import ContactPoint, Customer, ExternalId, Purchase, SocialIdentity
from .registry import purchase_hooks


def survivor_of(customer: Customer) -> Customer:
    """Follow a tombstone chain to the live record."""
    seen = set()
    while customer.merged_into_id is not None and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def _match(prepared: Prepared) -> Customer | None:
    """External id first, then verified e-mail/phone, then a linked social identity."""
    data = prepared.data
    for source, value in data.external_ids.items():
        ext = ExternalId.objects.filter(source=source, value=str(value)).select_related("customer").first()
        if ext:
            return survivor_of(ext.customer)
    keys = [(ContactPoint.Kind.EMAIL, v) for v, _, _ in prepared.emails] + [
        (ContactPoint.Kind.PHONE, v) for v, _, _ in prepared.phones
    ]
    found: set[int] = set()
    for kind, value in keys:
        found.update(
            ContactPoint.objects.filter(
                kind=kind, value=value, verified=True, customer__merged_into__isnull=True
            ).values_list("customer_id", flat=True)
        )
    if len(found) > 1:
        raise AmbiguousMatch(f"The e-mails and phones given belong to several customers: {sorted(found)}.")
    if found:
        return Customer.objects.get(pk=found.pop())
    for network, handle, _display, external_id in prepared.social:
        identity = _find_identity(network, handle, external_id)
        if identity and identity.customer_id:
            return survivor_of(identity.customer)  # type: ignore[arg-type]
    return None


def _find_identity(network: str, handle: str, external_id: str | None) -> SocialIdentity | None:
    qs = SocialIdentity.objects.select_related("customer")
    if external_id:
        found = qs.filter(network=network, external_id=external_id).first()
        if found:
            return found
    return qs.filter(network=network, handle_normalized=handle).order_by("id").first()


def _set_consent(customer: Customer, purpose: str, granted: bool, changes: dict[str, Any]) -> None:
    attr = f"consent_{purpose}"
    if getattr(customer, attr) != granted:
        changes[attr] = [getattr(customer, attr), granted]
        setattr(customer, attr, granted)
        setattr(customer, f"{attr}_at", timezone.now() if granted else None)


def _apply(
    customer: Customer, prepared: Prepared, *, actor: Actor, overwrite: bool, fresh: bool = False
) -> dict[str, Any]:
    """Write what `prepared` adds to `customer`; return the changes for the audit log.
    `fresh`: the customer is not saved yet; it is inserted once with its fields and its
    ids and contact points are inserted in bulk (nothing of its own can exist yet)."""
    data = prepared.data
    changes: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        new = getattr(data, name)
        if new in (None, ""):
            continue
        old = getattr(customer, name)
        if old != new and (overwrite or old in (None, "")):
            changes[name] = [str(old) if old else old, str(new)]
            setattr(customer, name, new)
    for purpose, granted in data.consent.items():
        _set_consent(customer, purpose, bool(granted), changes)
    if data.attributes:
        merged = {**customer.attributes, **data.attributes}
        if merged != customer.attributes:
            changes["attributes"] = sorted(set(data.attributes))
            customer.attributes = merged
    if changes or fresh:
        customer.save()
    if fresh:
        _insert_owned_rows(customer, prepared, changes)
        _apply_social(customer, prepared, actor=actor, changes=changes)
        return changes

    for source, value in data.external_ids.items():
        ext, created = ExternalId.objects.get_or_create(
            source=source, value=str(value), defaults={"customer": customer}
        )
        if ext.customer_id != customer.pk and survivor_of(ext.customer).pk != customer.pk:
            raise Conflict(
                field_errors={
                    "external_ids": [f"{source}:{value} already belongs to customer {ext.customer_id}."]
                }
            )
        if created:
            changes.setdefault("external_ids", []).append(f"{source}:{value}")

    for kind, items in (
        (ContactPoint.Kind.EMAIL, prepared.emails),
        (ContactPoint.Kind.PHONE, prepared.phones),
    ):
        has_primary = customer.contact_points.filter(kind=kind, is_primary=True).exists()
        for value, raw, item in items:
            point, created = ContactPoint.objects.get_or_create(
                customer=customer,
                kind=kind,
                value=value,
                defaults={
                    "raw": raw,
                    "verified": item.verified,
                    "is_primary": item.primary or not has_primary,
                    "source": data.source,
                },
            )
            has_primary = has_primary or point.is_primary
            if created:
                changes.setdefault(f"{kind}s", []).append(value)
            elif item.verified and not point.verified:
                point.verified = True
                point.save(update_fields=["verified"])
                changes.setdefault(f"{kind}s verified", []).append(value)

    for address in data.addresses:
        value = _postal_value(address)
        if not value:
            continue
        _, created = ContactPoint.objects.get_or_create(
            customer=customer,
            kind=ContactPoint.Kind.POSTAL,
            value=value,
            defaults={"details": address.__dict__, "source": data.source, "verified": False},
        )
        if created:
            changes.setdefault("addresses", []).append(value)

    _apply_social(customer, prepared, actor=actor, changes=changes)
    return changes


def _postal_value(address: AddressInput) -> str:
    parts = [address.street, address.postcode, address.city, address.country]
    return ", ".join(p.strip() for p in parts if p and p.strip())[:320]


def _insert_owned_rows(customer: Customer, prepared: Prepared, changes: dict[str, Any]) -> None:
    """External ids and contact points of a customer just created, in two bulk inserts."""
    data = prepared.data
    if data.external_ids:
        wanted = Q()
        for source, value in data.external_ids.items():
            wanted |= Q(source=source, value=str(value))
        taken = ExternalId.objects.filter(wanted).first()
        if taken is not None:
            raise Conflict(
                field_errors={"external_ids": [f"{taken} already belongs to customer {taken.customer_id}."]}
            )
        ExternalId.objects.bulk_create(
            [ExternalId(customer=customer, source=k, value=str(v)) for k, v in data.external_ids.items()]
        )
        changes["external_ids"] = [f"{k}:{v}" for k, v in data.external_ids.items()]
    points: dict[tuple[str, str], ContactPoint] = {}
    for kind, items in (
        (ContactPoint.Kind.EMAIL, prepared.emails),
        (ContactPoint.Kind.PHONE, prepared.phones),
    ):
        explicit = any(item.primary for _, _, item in items)
        for index, (value, raw, item) in enumerate(items):
            points.setdefault(
                (kind, value),
                ContactPoint(
                    customer=customer, kind=kind, value=value, raw=raw, verified=item.verified,
                    is_primary=item.primary if explicit else index == 0, source=data.source,
                ),
            )  # fmt: skip
    for address in data.addresses:
        value = _postal_value(address)
        if value:
            points.setdefault(
                (ContactPoint.Kind.POSTAL, value),
                ContactPoint(
                    customer=customer, kind=ContactPoint.Kind.POSTAL, value=value,
                    details=address.__dict__, source=data.source,
                ),
            )  # fmt: skip
    ContactPoint.objects.bulk_create(points.values())
    for point_kind, point_value in points:
        key = "addresses" if point_kind == ContactPoint.Kind.POSTAL else f"{point_kind}s"
        changes.setdefault(key, []).append(point_value)


def _apply_social(customer: Customer, prepared: Prepared, *, actor: Actor, changes: dict[str, Any]) -> None:
    for network, handle, display, external_id in prepared.social:
        identity = _find_identity(network, handle, external_id)
        if identity is None:
            SocialIdentity.objects.create(
                network=network,
                external_id=external_id or None,
                handle=display,
                handle_normalized=handle,
                customer=customer,
                link_method=SocialIdentity.LinkMethod.DECLARED,
                link_confidence=1.0,
                linked_at=timezone.now(),
                linked_by=actor.user,
            )
            changes.setdefault("social", []).append(f"{network}:@{display}")
        elif identity.customer_id is None:
            identity.customer = customer
            identity.link_method = SocialIdentity.LinkMethod.DECLARED
            identity.link_confidence = 1.0
            identity.linked_at = timezone.now()
            identity.linked_by = actor.user
            identity.save()
            changes.setdefault("social", []).append(f"{network}:@{display}")
        elif survivor_of(identity.customer).pk != customer.pk:  # type: ignore[arg-type]
            raise Conflict(
                field_errors={
                    "social": [f"{network} @{display} is linked to customer {identity.customer_id}."]
                }
            )


@transaction.atomic
def customer_create(*, data: CustomerData, actor: Actor) -> Customer:
    """Create a customer with everything `data` carries. 409 if a key belongs to another."""
    prepared = prepare(data)
    customer = Customer()
    changes = _apply(customer, prepared, actor=actor, overwrite=True, fresh=True)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        subject=customer,
        summary=f"Customer {customer} created ({data.source})",
        changes=changes,
    )
    return customer


def customer_upsert(*, data: CustomerData, actor: Actor) -> tuple[Customer, bool]:
    """Find the customer by external id, then verified e-mail/phone, then linked social
    identity; update it with what is new, or create it. Returns (customer, created).

    Sending the same data twice changes nothing the second time. Two concurrent upserts of
    a new customer cannot both create: the loser retries once and finds the winner.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _upsert_once(data=data, actor=actor)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _lock_keys(prepared: Prepared) -> None:
    """Serialise upserts that share a matching key (PostgreSQL advisory locks, released at
    commit), so two callers sending the same new customer at once cannot both create it.
    SQLite needs nothing: its write transactions are already serialised."""
    if connection.vendor != "postgresql":
        return
    data = prepared.data
    keys = sorted(
        {f"ext:{source}:{value}" for source, value in data.external_ids.items()}
        | {f"email:{value}" for value, _, _ in prepared.emails}
        | {f"phone:{value}" for value, _, _ in prepared.phones}
        | {f"social:{network}:{handle}" for network, handle, _, _ in prepared.social}
    )
    with connection.cursor() as cursor:
        for key in keys:
            digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [digest])


def _upsert_once(*, data: CustomerData, actor: Actor) -> tuple[Customer, bool]:
    prepared = prepare(data)
    _lock_keys(prepared)
    customer = _match(prepared)
    if customer is None:
        return customer_create(data=data, actor=actor), True
    return _update_locked(customer, prepared, actor=actor), False


def _update_locked(customer: Customer, prepared: Prepared, *, actor: Actor) -> Customer:
    """Lock the row, apply what is new, audit it when something changed."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changes = _apply(customer, prepared, actor=actor, overwrite=True)
    if changes:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            subject=customer,
            summary=f"Customer {customer} updated ({prepared.data.source})",
            changes=changes,
        )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, data: CustomerData, actor: Actor) -> Customer:
    """Change the fields given, add the contact points and identities given."""
    if customer.is_tombstone:
        raise CustomerMerged(survivor_of(customer).pk)
    return _update_locked(customer, prepare_partial(data), actor=actor)


@transaction.atomic
def purchase_record(
    *,
    customer: Customer,
    external_id: str,
    amount: Decimal,
    purchased_at: datetime,
    actor: Actor,
    source: str = "api",
    margin: Decimal | None = None,
    currency: str = "EUR",
    channel: str = "",
) -> tuple[Purchase, bool]:
    """Record a purchase once per (source, external id). Returns (purchase, created)."""
    errors: dict[str, list[str]] = {}
    if amount < 0:
        errors["amount"] = [gettext("Must not be negative.")]
    if margin is not None and margin > amount:
        errors["margin"] = [gettext("Cannot exceed the amount.")]
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = [gettext("Use a three-letter ISO 4217 code, such as EUR.")]
    if not external_id:
        errors["external_id"] = [gettext("Required.")]
    if errors:
        raise ValidationFailed(errors)
    if customer.is_tombstone:
        customer = survivor_of(customer)
    purchase, created = Purchase.objects.get_or_create(
        source=source,
        external_id=external_id,
        defaults={
            "customer": customer,
            "amount": amount,
            "margin": margin,
            "currency": currency.upper(),
            "purchased_at": purchased_at,
            "channel": channel,
        },
    )
    if created:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            subject=customer,
            summary=f"Purchase {source}:{external_id} of {amount} {currency.upper()} recorded",
        )
        # After commit: a hook reads a purchase that is there, and a failing hook (logged)
        # never loses the purchase; what a hook misses, its app's nightly catch-up does.
        for hook in purchase_hooks():
            transaction.on_commit(_hook_call(hook, purchase), robust=True)
    return purchase, created


def _hook_call(hook: Callable[..., object], purchase: Purchase) -> Callable[[], None]:
    """`hook(purchase=purchase)` under the hook's own name (the on_commit error log names it)."""

    @functools.wraps(hook)
    def call() -> None:
        hook(purchase=purchase)

    return call
