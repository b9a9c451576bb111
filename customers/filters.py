"""Query-string filters of the customer list (API and pages)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from .models import Customer, Network, SocialIdentity
from .selectors import filter_email, filter_handle, filter_phone, filter_query


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="by_query", label="Search: name, e-mail, phone (any format) or @handle"
    )
    email = django_filters.CharFilter(method="by_email", label="Exact e-mail (any case)")
    phone = django_filters.CharFilter(method="by_phone", label="Phone, any format")
    handle = django_filters.CharFilter(method="by_handle", label="Social handle, with or without @")
    segment = django_filters.CharFilter(field_name="segment", lookup_expr="iexact")
    network = django_filters.ChoiceFilter(
        choices=Network.choices, method="by_network", label="Has an identity on this network"
    )
    locale = django_filters.CharFilter(field_name="locale", lookup_expr="istartswith")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields: list[str] = []

    def by_query(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return filter_query(qs, value)

    def by_email(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return filter_email(qs, value)

    def by_phone(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return filter_phone(qs, value)

    def by_handle(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return filter_handle(qs, value)

    def by_network(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        owners = SocialIdentity.objects.filter(network=value, customer__isnull=False).values("customer_id")
        return qs.filter(pk__in=owners)
