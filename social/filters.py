"""Query-string filters of posts (API list and the listening drill-down)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from customers.models import Network

from .models import ListeningRule, Post, PostRuleMatch


class PostFilter(django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="author__customer", label="Written by this customer")
    author = django_filters.NumberFilter(field_name="author", label="Written by this social identity")
    sentiment = django_filters.ChoiceFilter(field_name="sentiment_label", choices=Post.Label.choices)
    flagged = django_filters.BooleanFilter(field_name="flagged")
    network = django_filters.ChoiceFilter(field_name="network", choices=Network.choices)
    language = django_filters.CharFilter(field_name="language", lookup_expr="iexact")
    rule = django_filters.ModelChoiceFilter(
        queryset=ListeningRule.objects.all(), method="by_rule", label="Matched this listening rule"
    )
    kind = django_filters.ChoiceFilter(
        choices=ListeningRule.Kind.choices, method="by_kind", label="Matched a brand or a competitor rule"
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Posted at or after"
    )
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="Posted before")
    case = django_filters.NumberFilter(field_name="case")
    q = django_filters.CharFilter(field_name="text", lookup_expr="icontains", label="Words in the text")
    campaign = django_filters.CharFilter(
        method="by_campaign", label="Matched a listening rule of this campaign (of `kind`, if given)"
    )
    segment = django_filters.CharFilter(
        field_name="author__customer__segment", label="Author's customer segment"
    )

    class Meta:
        model = Post
        fields: list[str] = []

    def by_rule(self, qs: QuerySet[Post], name: str, value: ListeningRule) -> QuerySet[Post]:
        return qs.filter(pk__in=value.matches.values("post_id"))

    def by_kind(self, qs: QuerySet[Post], name: str, value: str) -> QuerySet[Post]:
        return qs.filter(pk__in=PostRuleMatch.objects.filter(kind=value).values("post_id"))

    def by_campaign(self, qs: QuerySet[Post], name: str, value: str) -> QuerySet[Post]:
        """With `kind`, a rule of that kind in the campaign (as the dashboard rollups count)."""
        matches = PostRuleMatch.objects.filter(rule__campaign=value)
        kind = self.data.get("kind") if self.data else None
        if kind in ListeningRule.Kind.values:
            matches = matches.filter(kind=kind)
        return qs.filter(pk__in=matches.values("post_id"))


class ListeningPostFilter(PostFilter):
    """The listening drill-down: PostFilter, plus leaving out the brand's own posts as the
    dashboard figures do."""

    from_brand = django_filters.BooleanFilter(field_name="from_brand", label="Written by the brand")
