"""Reads of the customer record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum

from scrm.models import AuditEntry
from scrm.selectors import audit_entries_for

from .models import ContactPoint, Customer, Purchase, SocialIdentity
from .normalize import InvalidValue, looks_like_phone, normalize_email, normalize_handle, normalize_phone
from .registry import sections


def customers_live() -> QuerySet[Customer]:
    """Customers that are not tombstones of a merge."""
    return Customer.objects.filter(merged_into__isnull=True)


def _phone_or_none(text: str) -> str | None:
    try:
        return normalize_phone(text)
    except InvalidValue:
        return None


def _contact_owners(kind: str, value: str) -> QuerySet[Any, Any]:
    return ContactPoint.objects.filter(kind=kind, value=value).values("customer_id")


def _handle_owners(handle: str) -> QuerySet[Any, Any]:
    identities = SocialIdentity.objects.filter(handle_normalized=handle, customer__isnull=False)
    return identities.values("customer_id")


# Filters use `pk IN (subquery)` rather than joins: no duplicate rows, so no DISTINCT over
# every column, and PostgreSQL answers each with an index lookup (see bench/customers.py).


def filter_email(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    return qs.filter(pk__in=_contact_owners(ContactPoint.Kind.EMAIL, value.strip().lower()))


def filter_phone(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    """Any spelling of the number finds it: `06 12 34 56 78`, `+33612345678`, `0033 6...`."""
    e164 = _phone_or_none(value)
    if e164 is None:
        return qs.none()
    return qs.filter(pk__in=_contact_owners(ContactPoint.Kind.PHONE, e164))


def filter_handle(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    return qs.filter(pk__in=_handle_owners(value.strip().lstrip("@").lower()))


def filter_query(qs: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """`text` read as what it looks like: an e-mail, a phone number in any format, a
    handle (`@name`), or else words matched against names, e-mails and handles."""
    text = text.strip()
    return qs.filter(_query_condition(text)) if text else qs


def _query_condition(text: str) -> Q:
    if "@" in text and not text.startswith("@"):
        try:
            return Q(pk__in=_contact_owners(ContactPoint.Kind.EMAIL, normalize_email(text)))
        except InvalidValue:
            partial = ContactPoint.objects.filter(
                kind=ContactPoint.Kind.EMAIL, value__contains=text.lower()
            ).values("customer_id")
            return Q(pk__in=partial)
    if looks_like_phone(text):
        e164 = _phone_or_none(text)
        if e164:
            return Q(pk__in=_contact_owners(ContactPoint.Kind.PHONE, e164))
    if text.startswith("@"):
        try:
            return Q(pk__in=_handle_owners(normalize_handle(text)))
        except InvalidValue:
            return Q(pk__in=[])
    condition = Q()
    for word in text.split():
        condition &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(pk__in=_handle_owners(word.lower()))
            | Q(pk__in=_contact_owners(ContactPoint.Kind.EMAIL, word.lower()))
        )
    return condition


def with_list_data(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """What a list row shows: e-mails, phones and handles, fetched in two queries."""
    return qs.prefetch_related(
        Prefetch(
            "contact_points",
            queryset=ContactPoint.objects.filter(kind__in=[ContactPoint.Kind.EMAIL, ContactPoint.Kind.PHONE]),
        ),
        Prefetch(
            "social_identities",
            queryset=SocialIdentity.objects.only("id", "network", "handle", "customer_id"),
        ),
    )


@dataclass
class PurchaseSummary:
    count: int
    total: Decimal
    margin: Decimal
    last_at: Any


@dataclass
class Customer360:
    customer: Customer
    contact_points: list[ContactPoint]
    identities: list[SocialIdentity]
    external_ids: list[Any]
    recent_purchases: list[Purchase]
    purchases: PurchaseSummary
    sections: list[tuple[Any, Any]]  # (Section, data)
    audit: list[AuditEntry]


def customer_purchase_summary(*, customer: Customer) -> PurchaseSummary:
    agg = customer.purchases.aggregate(
        count=Count("id"), total=Sum("amount"), margin=Sum("margin"), last_at=Max("purchased_at")
    )
    return PurchaseSummary(
        count=agg["count"],
        total=agg["total"] or Decimal("0"),
        margin=agg["margin"] or Decimal("0"),
        last_at=agg["last_at"],
    )


def customer_360(*, customer: Customer, purchases_limit: int = 20) -> Customer360:
    """Everything known about one customer, including the sections other apps register."""
    return Customer360(
        customer=customer,
        contact_points=list(customer.contact_points.all()),
        identities=list(customer.social_identities.all()),
        external_ids=list(customer.external_ids.all()),
        recent_purchases=list(customer.purchases.all()[:purchases_limit]),
        purchases=customer_purchase_summary(customer=customer),
        sections=[(section, section.data(customer)) for section in sections()],
        audit=list(audit_entries_for(subject=customer, limit=30)),
    )


def spend_by_customer(*, customer_ids: Iterable[int], since: datetime) -> dict[int, float]:
    """What each customer spent since `since` (purchase amounts, any currency as given)."""
    ids = list(customer_ids)
    if not ids:
        return {}
    totals = (
        Purchase.objects.filter(customer_id__in=ids, purchased_at__gte=since)
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values_list("customer_id", "total")
    )
    return {customer_id: float(total or 0) for customer_id, total in totals}
