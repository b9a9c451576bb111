"""Query-string filters of the influence lists (API and pages)."""

from __future__ import annotations

import django_filters

from .models import Referral


class ReferralFilter(django_filters.FilterSet):
    """Query-string filters of the referrals list (API and page)."""

    referrer = django_filters.NumberFilter(field_name="referrer", label="Referred by this customer id")
    referred = django_filters.NumberFilter(field_name="referred", label="This customer id was referred")
    converted = django_filters.BooleanFilter(
        field_name="converted_at", lookup_expr="isnull", exclude=True, label="Converted (true) or not (false)"
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="referred_at", lookup_expr="gte", label="Referred at or after (ISO 8601)"
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="referred_at", lookup_expr="lt", label="Referred before (ISO 8601)"
    )
    campaign = django_filters.CharFilter(field_name="campaign", lookup_expr="iexact")
    type = django_filters.ChoiceFilter(field_name="type", choices=Referral.Type.choices)

    class Meta:
        model = Referral
        fields: list[str] = []
