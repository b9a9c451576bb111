"""Every write to the customer record.

Input arrives as a `CustomerData` (from the API, the pages, imports or the demo), is
normalised and validated as a whole first, and only then written in one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from scrm.actors import Actor
from scrm.models import AuditEntry
from scrm.services import audit_record

from .errors import AmbiguousMatch, Conflict, CustomerMerged, ValidationFailed
from .models import ContactPoint, Customer, ExternalId, Network, Purchase, SocialIdentity
from .normalize import (
    InvalidValue,
    display_handle,
    normalize_email,
    normalize_handle,
    normalize_phone,
    region_for_locale,
)

CONSENT_PURPOSES = ("marketing_email", "social_autopost", "data_processing")
SCALAR_FIELDS = ("first_name", "last_name", "locale", "date_of_birth")


@dataclass
class ContactInput:
    value: str
    verified: bool = True
    primary: bool = False


@dataclass
class SocialInput:
    network: str
    handle: str = ""
    external_id: str | None = None


@dataclass
class AddressInput:
    street: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""


@dataclass
class CustomerData:
    """What a caller knows about a customer. None / empty means "not given"."""

    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    date_of_birth: date | None = None
    emails: list[ContactInput] = field(default_factory=list)
    phones: list[ContactInput] = field(default_factory=list)
    addresses: list[AddressInput] = field(default_factory=list)
    external_ids: dict[str, str] = field(default_factory=dict)
    social: list[SocialInput] = field(default_factory=list)
    consent: dict[str, bool] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = "api"


@dataclass
class _Prepared:
    data: CustomerData
    emails: list[tuple[str, str, ContactInput]]  # (normalised, raw, input)
    phones: list[tuple[str, str, ContactInput]]
    social: list[tuple[str, str, str, str | None]]  # (network, normalised, display, external id)


def _prepare(data: CustomerData) -> _Prepared:
    errors: dict[str, list[str]] = {}
    emails, phones, social = [], [], []
    region = region_for_locale(data.locale)
    for item in data.emails:
        try:
            emails.append((normalize_email(item.value), item.value, item))
        except InvalidValue as exc:
            errors.setdefault("emails", []).append(str(exc))
    for item in data.phones:
        try:
            phones.append((normalize_phone(item.value, region=region), item.value, item))
        except InvalidValue as exc:
            errors.setdefault("phones", []).append(str(exc))
    for s in data.social:
        if s.network not in Network.values:
            errors.setdefault("social", []).append(
                gettext("Unknown network “%(network)s”. Known: %(known)s.")
                % {"network": s.network, "known": ", ".join(Network.values)}
            )
            continue
        try:
            social.append((s.network, normalize_handle(s.handle), display_handle(s.handle), s.external_id))
        except InvalidValue as exc:
            errors.setdefault("social", []).append(str(exc))
    for purpose in data.consent:
        if purpose not in CONSENT_PURPOSES:
            errors.setdefault("consent", []).append(
                gettext("Unknown consent “%(purpose)s”. Known: %(known)s.")
                % {"purpose": purpose, "known": ", ".join(CONSENT_PURPOSES)}
            )
    for source, value in data.external_ids.items():
        if not str(source).strip() or not str(value).strip():
            errors.setdefault("external_ids", []).append(gettext("Source and id must both be non-empty."))
        elif len(str(source)) > 50 or len(str(value)) > 200:
            errors.setdefault("external_ids", []).append(
                gettext("%(source)s: source or id too long.") % {"source": source}
            )
    has_name = bool((data.first_name or "").strip() or (data.last_name or "").strip())
    if not (has_name or emails or phones or social or data.external_ids or errors):
        errors["non_field_errors"] = [gettext("Give at least a name, an e-mail, a phone or a social handle.")]
    if errors:
        raise ValidationFailed(errors)
    return _Prepared(data=data, emails=emails, phones=phones, social=social)


def survivor_of(customer: Customer) -> Customer:
    """Follow a tombstone chain to the live record."""
    seen = set()
    while customer.merged_into_id is not None and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def _match(prepared: _Prepared) -> Customer | None:
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


def _apply(customer: Customer, prepared: _Prepared, *, actor: Actor, overwrite: bool) -> dict[str, Any]:
    """Write what `prepared` adds to `customer`; return the changes for the audit log."""
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
    if changes:
        customer.save()

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
        parts = [address.street, address.postcode, address.city, address.country]
        value = ", ".join(p.strip() for p in parts if p and p.strip())
        if not value:
            continue
        _, created = ContactPoint.objects.get_or_create(
            customer=customer,
            kind=ContactPoint.Kind.POSTAL,
            value=value[:320],
            defaults={"details": address.__dict__, "source": data.source, "verified": False},
        )
        if created:
            changes.setdefault("addresses", []).append(value)

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
    return changes


@transaction.atomic
def customer_create(*, data: CustomerData, actor: Actor) -> Customer:
    """Create a customer with everything `data` carries. 409 if a key belongs to another."""
    prepared = _prepare(data)
    customer = Customer.objects.create()
    changes = _apply(customer, prepared, actor=actor, overwrite=True)
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


def _lock_keys(prepared: _Prepared) -> None:
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
    prepared = _prepare(data)
    _lock_keys(prepared)
    customer = _match(prepared)
    if customer is None:
        return customer_create(data=data, actor=actor), True
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changes = _apply(customer, prepared, actor=actor, overwrite=True)
    if changes:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            subject=customer,
            summary=f"Customer {customer} updated ({data.source})",
            changes=changes,
        )
    return customer, False


@transaction.atomic
def customer_update(*, customer: Customer, data: CustomerData, actor: Actor) -> Customer:
    """Change the fields given, add the contact points and identities given."""
    if customer.is_tombstone:
        raise CustomerMerged(survivor_of(customer).pk)
    prepared = _prepare_partial(data)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changes = _apply(customer, prepared, actor=actor, overwrite=True)
    if changes:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            subject=customer,
            summary=f"Customer {customer} updated",
            changes=changes,
        )
    return customer


def _prepare_partial(data: CustomerData) -> _Prepared:
    # A partial update may carry a single field (say, consent), so "give a name or a
    # contact" does not apply: validate with a placeholder name, then drop it.
    probe = CustomerData(**{**data.__dict__, "first_name": data.first_name or "-"})
    prepared = _prepare(probe)
    prepared.data = data
    return prepared


@transaction.atomic
def contact_point_remove(*, point: ContactPoint, actor: Actor) -> None:
    customer = point.customer
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        subject=customer,
        summary=f"{point.get_kind_display()} {point.value} removed",
        changes={f"{point.kind}s removed": [point.value]},
    )
    point.delete()


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
    return purchase, created
