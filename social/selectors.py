"""Reads of posts, cases and listening figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.models import Customer, Network

from .models import Case, ConnectedAccount, ListeningRule, Post, PostRuleMatch


def posts_of_customer(*, customer: Customer) -> QuerySet[Post]:
    """Every post written through one of the customer's identities, newest first."""
    return Post.objects.filter(author__customer=customer).order_by("-created_at", "-id")


def cases_of_customer(*, customer: Customer) -> QuerySet[Case]:
    return Case.objects.filter(author__customer=customer).order_by("-opened_at", "-id")


def post_as_dict(post: Post) -> dict[str, Any]:
    """A post as the API and the 360 show it."""
    return {
        "id": post.pk,
        "network": post.network,
        "external_id": post.external_id,
        "text": post.text,
        "url": post.url,
        "created_at": post.created_at.isoformat(),
        "language": post.language or None,
        "sentiment": {"compound": round(post.sentiment, 4), "label": post.sentiment_label},
        "flagged": post.flagged,
        "case": post.case_id,
    }


# --- connected accounts and listening rules (admin pages) ----------------------------


@dataclass(frozen=True)
class AccountUsage:
    """Posts read this month against the plan's monthly cap (None: no cap)."""

    used: int
    cap: int | None

    @property
    def percent(self) -> int | None:
        if not self.cap:
            return None
        return min(100, round(100 * self.used / self.cap))


def account_usage(account: ConnectedAccount) -> AccountUsage:
    """Usage counts restart each month: a count from an earlier month is zero now."""
    this_month = timezone.now().date().replace(day=1)
    used = account.posts_read_this_month if account.usage_month == this_month else 0
    return AccountUsage(used=used, cap=account.monthly_post_cap)


def accounts_for_admin() -> QuerySet[ConnectedAccount]:
    return ConnectedAccount.objects.order_by("name")


def rules_for_listing() -> QuerySet[ListeningRule]:
    return ListeningRule.objects.select_related("account").order_by("kind", "name")


# --- listening figures (dashboard) ---------------------------------------------------


@dataclass(frozen=True)
class ListeningFilters:
    """The dashboard's window and filters. `since` and `until` are days in the user's
    time zone, both included. Without a rule the figures are about the brand (posts that
    matched a brand rule); with one, about that rule's posts. The brand's own posts are
    never counted: they are not what people say about it."""

    since: date
    until: date
    network: str = ""
    rule: ListeningRule | None = None
    language: str = ""

    @property
    def start(self) -> datetime:
        return _day_start(self.since)

    @property
    def end(self) -> datetime:
        return _day_start(self.until + timedelta(days=1))

    def posts_query(self) -> dict[str, str]:
        """The same population as query-string filters of the posts list (PostFilter)."""
        query = {"since": self.start.isoformat(), "until": self.end.isoformat(), "from_brand": "false"}
        if self.network:
            query["network"] = self.network
        if self.language:
            query["language"] = self.language
        if self.rule is not None:
            query["rule"] = str(self.rule.pk)
        else:
            query["kind"] = ListeningRule.Kind.BRAND
        return query

    def day_query(self, day: date) -> dict[str, str]:
        """posts_query() narrowed to one day of the user's time zone."""
        return {
            **self.posts_query(),
            "since": _day_start(day).isoformat(),
            "until": _day_start(day + timedelta(days=1)).isoformat(),
        }


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def default_window(days: int = 30) -> tuple[date, date]:
    """The last `days` days, today included, in the user's time zone."""
    today = timezone.localdate()
    return today - timedelta(days=days - 1), today


@dataclass(frozen=True)
class DayVolume:
    day: date
    posts: int


@dataclass(frozen=True)
class SentimentSplit:
    positive: int
    neutral: int
    negative: int

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative

    def share(self, label: str) -> float | None:
        return 100 * getattr(self, label) / self.total if self.total else None

    @property
    def index(self) -> float | None:
        """Social sentiment index = 100 * (positive - negative) / all (docs/metrics.md);
        inferred from public posts, never NPS. None without posts."""
        return 100 * (self.positive - self.negative) / self.total if self.total else None


@dataclass(frozen=True)
class AuthorFigures:
    identity_id: int
    handle: str
    network: str
    posts: int
    followers: int | None
    average_sentiment: float
    customer_id: int | None

    @property
    def network_label(self) -> str:
        return str(Network(self.network).label) if self.network in Network.values else self.network


@dataclass(frozen=True)
class VoiceShare:
    """brand / (brand + competitor) mentions: `rule` None for all competitors together."""

    rule: ListeningRule | None
    brand: int
    competitor: int

    @property
    def total(self) -> int:
        return self.brand + self.competitor

    @property
    def share(self) -> float | None:
        return 100 * self.brand / self.total if self.total else None


@dataclass(frozen=True)
class ListeningFigures:
    filters: ListeningFilters
    volume: list[DayVolume]
    sentiment: SentimentSplit
    authors: list[AuthorFigures]
    share_of_voice: VoiceShare
    share_by_competitor: list[VoiceShare]

    @property
    def total(self) -> int:
        return self.sentiment.total


def listening_posts(filters: ListeningFilters) -> QuerySet[Post]:
    """The posts the dashboard counts (see ListeningFilters)."""
    matches = PostRuleMatch.objects.filter(post=OuterRef("pk"))
    if filters.rule is not None:
        matches = matches.filter(rule=filters.rule)
    else:
        matches = matches.filter(kind=ListeningRule.Kind.BRAND)
    posts = Post.objects.filter(
        Exists(matches), created_at__gte=filters.start, created_at__lt=filters.end, from_brand=False
    )
    if filters.network:
        posts = posts.filter(network=filters.network)
    if filters.language:
        posts = posts.filter(language__iexact=filters.language)
    return posts


def listening_figures(filters: ListeningFilters, *, top_authors: int = 10) -> ListeningFigures:
    """Every dashboard figure in five aggregate queries, whatever the number of posts."""
    posts = listening_posts(filters).order_by()
    zone = timezone.get_current_timezone()
    per_day = dict(
        posts.annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    days = (filters.until - filters.since).days + 1
    volume = [
        DayVolume(day=day, posts=per_day.get(day, 0))
        for day in (filters.since + timedelta(days=offset) for offset in range(days))
    ]
    labels = dict(posts.values("sentiment_label").annotate(n=Count("id")).values_list("sentiment_label", "n"))
    sentiment = SentimentSplit(
        positive=labels.get(Post.Label.POSITIVE, 0),
        neutral=labels.get(Post.Label.NEUTRAL, 0),
        negative=labels.get(Post.Label.NEGATIVE, 0),
    )
    authors = [
        AuthorFigures(
            identity_id=row["author"],
            handle=row["author__handle"],
            network=row["author__network"],
            posts=row["n"],
            followers=row["author__followers_count"],
            average_sentiment=row["mean"],
            customer_id=row["author__customer"],
        )
        for row in posts.filter(author__isnull=False)
        .values("author", "author__handle", "author__network", "author__followers_count", "author__customer")
        .annotate(n=Count("id"), mean=Avg("sentiment"))
        .order_by("-n", "-author__followers_count", "author")[:top_authors]
    ]
    overall, by_competitor = share_of_voice(filters)
    return ListeningFigures(
        filters=filters,
        volume=volume,
        sentiment=sentiment,
        authors=authors,
        share_of_voice=overall,
        share_by_competitor=by_competitor,
    )


def share_of_voice(filters: ListeningFilters) -> tuple[VoiceShare, list[VoiceShare]]:
    """Share of voice in the window (network and language filters apply, the rule filter
    does not: it compares every rule). Read from PostRuleMatch, whose copied `kind` and
    `created_at` keep this to one table (plus the post, to leave out the brand's own posts
    and for network and language), selected by rule and day through its (rule, created_at)
    index. A post is one mention of the brand however many brand rules it matched."""
    rules = list(ListeningRule.objects.order_by("name"))
    competitor_ids = [rule.pk for rule in rules if rule.kind == ListeningRule.Kind.COMPETITOR]
    matches = PostRuleMatch.objects.filter(
        rule__in=[rule.pk for rule in rules],
        created_at__gte=filters.start,
        created_at__lt=filters.end,
        post__from_brand=False,
    ).order_by()
    if filters.network:
        matches = matches.filter(post__network=filters.network)
    if filters.language:
        matches = matches.filter(post__language__iexact=filters.language)
    totals = matches.aggregate(
        brand=Count("post", distinct=True, filter=Q(kind=ListeningRule.Kind.BRAND)),
        competitor=Count("post", distinct=True, filter=Q(kind=ListeningRule.Kind.COMPETITOR)),
    )
    per_rule = dict(
        matches.filter(rule__in=competitor_ids)
        .values("rule")
        .annotate(n=Count("id"))
        .values_list("rule", "n")
    )
    overall = VoiceShare(rule=None, brand=totals["brand"], competitor=totals["competitor"])
    return overall, [
        VoiceShare(rule=rule, brand=overall.brand, competitor=per_rule.get(rule.pk, 0))
        for rule in rules
        if rule.pk in competitor_ids and (rule.active or rule.pk in per_rule)
    ]
