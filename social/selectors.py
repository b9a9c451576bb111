"""Reads of posts, cases and listening figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.db.models import Case as DbCase
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone

from customers.models import Customer, Network, SocialIdentity

from .cases import HIGH, NORMAL, canned_render
from .models import (
    AgentDuty,
    CannedReply,
    Case,
    ConnectedAccount,
    ListeningRule,
    Post,
    PostRuleMatch,
    Reply,
)


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
        "created_at": post.created_at,  # the API renders it in ISO 8601
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
    customer_name: str = ""

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
            customer_name=" ".join(
                part
                for part in (row["author__customer__first_name"], row["author__customer__last_name"])
                if part
            ),
        )
        for row in posts.filter(author__isnull=False)
        .values(
            "author",
            "author__handle",
            "author__network",
            "author__followers_count",
            "author__customer",
            "author__customer__first_name",
            "author__customer__last_name",
        )
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


# --- the agent inbox and the case page -----------------------------------------------

INBOX_QUEUES = ("mine", "unassigned", "open", "network", "resolved")
PRIORITY_BANDS = ("high", "normal", "low")


@dataclass(frozen=True)
class InboxFilters:
    """What narrows the inbox besides its queue. `network` is also the "by network" tab's
    network; `search` matches the text of the case's posts, the author's handle and the
    customer's name."""

    band: str = ""
    network: str = ""
    status: str = ""
    overdue: bool = False
    search: str = ""


def _overdue_condition(now: datetime) -> Q:
    """First response due and not answered, or resolution due and not resolved, before now."""
    unresolved = ~Q(status=Case.Status.RESOLVED)
    late_answer = Q(first_response_at__isnull=True, first_response_due_at__lt=now)
    return unresolved & (late_answer | Q(resolution_due_at__lt=now))


def _band_condition(band: str) -> Q:
    return {
        "high": Q(priority__gte=HIGH),
        "normal": Q(priority__gte=NORMAL, priority__lt=HIGH),
        "low": Q(priority__lt=NORMAL),
    }.get(band, Q())


def _queue_condition(queue: str, agent: Any, network: str) -> Q:
    unresolved = ~Q(status=Case.Status.RESOLVED)
    if queue == "mine":
        return unresolved & Q(assignee=agent)
    if queue == "unassigned":
        return unresolved & Q(assignee__isnull=True)
    if queue == "network":
        return unresolved & (Q(network=network) if network else Q())
    if queue == "resolved":
        return Q(status=Case.Status.RESOLVED)
    return unresolved


def _filtered_cases(filters: InboxFilters, now: datetime, *, with_network: bool = True) -> QuerySet[Case]:
    cases = Case.objects.filter(_band_condition(filters.band))
    if filters.network and with_network:
        cases = cases.filter(network=filters.network)
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.overdue:
        cases = cases.filter(_overdue_condition(now))
    text = filters.search.strip()
    if text:
        # Three sets of ids, each read on its own (matching posts through the trigram index
        # social_post_case_text_trgm of migration 0009, authors by handle, customers by
        # name), so that the cases table is not joined to every author and customer to test
        # an OR across them.
        in_posts = Post.objects.filter(case__isnull=False, text__icontains=text).values("case_id")
        named = Q()
        for word in text.split():
            named |= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        matching = Q(handle__icontains=text.lstrip("@")) | Q(
            customer__in=Customer.objects.filter(named).values("pk")
        )
        authors = SocialIdentity.objects.filter(matching).values("pk")
        condition = Q(pk__in=in_posts) | Q(author__in=authors)
        cases = cases.filter(condition)
    return cases


# What an inbox row shows, and nothing else.
INBOX_ROW_FIELDS = (
    "id", "network", "status", "priority", "priority_reasons", "reasons", "post_count",
    "opened_at", "first_response_at", "first_response_due_at", "resolution_due_at",
    "author__id", "author__handle", "author__network", "author__display_name",
    "author__customer__id", "author__customer__first_name", "author__customer__last_name",
    "assignee__id", "assignee__username", "assignee__first_name",
)  # fmt: skip


INBOX_ORDER = ("-priority", "opened_at", "id")


def _inbox_rows(cases: QuerySet[Case], now: datetime) -> QuerySet[Case]:
    """What an inbox row shows: `is_overdue`, `priority_band`, its author, customer and
    assignee (joined), and its first post as `first_posts` (one prefetch for the page)."""
    first_post = Post.objects.only("id", "case_id", "text", "created_at").order_by("created_at", "id")
    return (
        cases.annotate(
            is_overdue=DbCase(When(_overdue_condition(now), then=Value(True)), default=Value(False)),
            priority_band=DbCase(
                *(When(_band_condition(band), then=Value(band)) for band in PRIORITY_BANDS[:2]),
                default=Value(PRIORITY_BANDS[2]),
            ),
        )
        .select_related("author", "author__customer", "assignee")
        .only(*INBOX_ROW_FIELDS)
        .prefetch_related(Prefetch("posts", queryset=first_post[:1], to_attr="first_posts"))
    )


def cases_for_inbox(
    *, agent: Any, queue: str, filters: InboxFilters, start: int, size: int, now: datetime | None = None
) -> list[Case]:
    """Rows start .. start + size of one inbox queue: overdue first, then by priority, then
    oldest first.

    "Overdue" depends on the moment, so no index can order by it: the queue is read as two
    runs in index order (case_open_queue_idx: open cases by priority, then age), the
    overdue cases then the others, and the page is cut across them; the only count is that
    of the overdue cases. A single ORDER BY on the overdue flag made PostgreSQL sort every
    open case for each page."""
    now = now or timezone.now()
    queued = _filtered_cases(filters, now).filter(_queue_condition(queue, agent, filters.network))
    if queue == "resolved":  # never overdue
        return list(_inbox_rows(queued, now).order_by(*INBOX_ORDER)[start : start + size])
    overdue = queued.filter(_overdue_condition(now))
    on_time = queued.exclude(_overdue_condition(now))
    late = overdue.count()
    rows: list[Case] = []
    if start < late:
        rows = list(_inbox_rows(overdue, now).order_by(*INBOX_ORDER)[start : start + size])
    if len(rows) < size:
        skip = max(start - late, 0)
        rows += list(_inbox_rows(on_time, now).order_by(*INBOX_ORDER)[skip : skip + size - len(rows)])
    return rows


def inbox_counts(*, agent: Any, filters: InboxFilters, now: datetime | None = None) -> dict[str, Any]:
    """How many cases each queue holds under the filters: {"mine": n, ..., "networks":
    {network: open cases}}. The network filter narrows every queue but the per-network
    counts. One aggregate over the open cases (read through their partial index), one
    count of the resolved ones."""
    now = now or timezone.now()
    cases = _filtered_cases(filters, now, with_network=False).order_by()
    narrowed = Q(network=filters.network) if filters.network else Q()
    counts: dict[str, Any] = {
        queue: Count("id", filter=_queue_condition(queue, agent, "") & narrowed)
        for queue in INBOX_QUEUES
        if queue not in ("network", "resolved")
    }
    per_network = {f"network_{network}": Count("id", filter=Q(network=network)) for network in Network.values}
    figures = cases.exclude(status=Case.Status.RESOLVED).aggregate(**counts, **per_network)
    figures["resolved"] = cases.filter(narrowed, status=Case.Status.RESOLVED).count()
    figures["networks"] = {network: figures.pop(f"network_{network}") for network in Network.values}
    return figures


def case_for_page(pk: int) -> Case:
    return get_object_or_404(
        Case.objects.select_related("author", "author__customer", "assignee", "replying_user"), pk=pk
    )


@dataclass(frozen=True)
class ThreadItem:
    """A post of the case or a reply the brand wrote, in time order."""

    at: datetime
    post: Post | None = None
    reply: Reply | None = None


def case_thread(case: Case) -> list[ThreadItem]:
    """Every post of the case and every reply written to it, oldest first. Replies the
    network echoed back as brand posts show once, as the reply (with its status)."""
    replies = list(Reply.objects.filter(case=case).select_related("author").order_by("created_at", "id"))
    echoed = {reply.external_id for reply in replies if reply.external_id}
    items = [
        ThreadItem(at=post.created_at, post=post)
        for post in Post.objects.filter(case=case).select_related("author").order_by("created_at", "id")
        if not (post.from_brand and post.external_id in echoed)
    ]
    items += [ThreadItem(at=reply.sent_at or reply.created_at, reply=reply) for reply in replies]
    return sorted(items, key=lambda item: item.at)


def reply_holder(case: Case, *, user: Any, now: datetime | None = None) -> Any:
    """The colleague holding the "is replying" claim on the case, if any (not `user`)."""
    now = now or timezone.now()
    if case.replying_user_id is None or case.replying_user_id == user.pk:
        return None
    if case.replying_until is None or case.replying_until < now:
        return None
    return case.replying_user


def agents_for_assignment() -> QuerySet[Any]:
    """People who can work cases: those allowed to change them."""
    permission = Q(
        groups__permissions__codename="change_case", groups__permissions__content_type__app_label="social"
    )
    users = get_user_model().objects.filter(is_active=True)
    return users.filter(pk__in=users.filter(permission | Q(is_superuser=True)).values("pk")).order_by(
        "username"
    )


def canned_replies_for(case: Case, *, agent: Any) -> list[tuple[CannedReply, str]]:
    """Each active canned reply with its variables filled for this case and agent."""
    return [
        (canned, canned_render(canned.body, case=case, agent=agent))
        for canned in CannedReply.objects.filter(active=True).order_by("title")
    ]


def agent_on_duty(user: Any) -> bool:
    return AgentDuty.objects.filter(user=user, on_duty=True).exists()
