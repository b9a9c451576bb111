"""Query-string filters of the cases list."""

from __future__ import annotations

import django_filters

from customers.models import Network

from ..models import Case


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Case.Status.choices, label="In one of these statuses (repeat the parameter for several)"
    )
    network = django_filters.ChoiceFilter(choices=Network.choices)
    assignee = django_filters.NumberFilter(field_name="assignee", label="Assigned to this user id")
    unassigned = django_filters.BooleanFilter(
        field_name="assignee", lookup_expr="isnull", label="Assigned to nobody"
    )
    min_priority = django_filters.NumberFilter(
        field_name="priority", lookup_expr="gte", label="Priority at or above"
    )
    customer = django_filters.NumberFilter(field_name="author__customer", label="Opened by this customer")

    class Meta:
        model = Case
        fields: list[str] = []
