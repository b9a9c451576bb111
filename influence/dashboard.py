"""Marketing dashboard reads (docs/metrics.md): survey NPS with its interval and trend,
the inferred sentiment index and share of voice from the post rollups (influence.rollups
says which rollup rows each figure sums), top advocates and influencers and the CLV x CRV
quadrants from the latest score run's snapshots, referrals of the period. Nothing here
scans the posts table; every figure carries its n.

What snapshots give does not change once a run is done: those figures are cached per
run and segment.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.utils import timezone

from customers.models import Customer, SocialIdentity
from social.models import ListeningRule
from social.selectors import SentimentSplit, VoiceShare

from .models import PostRollup, Referral, ScoreRun, ScoreSnapshot, Segment, SurveyKind, SurveyResponse
from .selectors import NpsSummary, latest_run, nps_from_counts, survey_responses

PERIODS = ("7", "30", "90", "quarter", "custom")
DEFAULT_PERIOD = "30"
SCATTER_POINTS = 1500
TOP = 10
_CACHE_SECONDS = 24 * 3600
DASHBOARD_CACHE_SECONDS = 60


@dataclass(frozen=True)
class DashboardFilters:
    """Days `since` to `until`, both included, in the installation's time zone (the days of
    the rollups), and the narrowing filters. A filter a figure cannot honour is said on
    the page next to it (e.g. survey answers have no network)."""

    since: date
    until: date
    period: str = DEFAULT_PERIOD
    network: str = ""
    segment: str = ""
    campaign: str = ""

    @property
    def start(self) -> datetime:
        return day_start(self.since)

    @property
    def end(self) -> datetime:
        return day_start(self.until + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def query(self) -> dict[str, str]:
        """The filters as the dashboard's own query string (kept in every link back)."""
        query = {"period": self.period}
        if self.period == "custom":
            query |= {"since": self.since.isoformat(), "until": self.until.isoformat()}
        for name in ("network", "segment", "campaign"):
            if value := getattr(self, name):
                query[name] = value
        return query


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def period_window(period: str, today: date | None = None) -> tuple[date, date]:
    """The days of a preset period, today included: the last 7, 30 or 90 days, or this
    calendar quarter so far."""
    today = today or timezone.localdate()
    if period == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        return today.replace(month=first_month, day=1), today
    return today - timedelta(days=int(period) - 1), today


def default_filters(today: date | None = None) -> DashboardFilters:
    since, until = period_window(DEFAULT_PERIOD, today)
    return DashboardFilters(since=since, until=until)


# --- buckets of a trend -------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """Days `start` to `end` included (a day, an ISO week or a month, cut to the period)."""

    start: date
    end: date
    unit: str  # day | week | month

    @property
    def label(self) -> str:
        if self.unit == "month":
            return f"{self.start:%Y-%m}"
        return self.start.isoformat()

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def buckets(since: date, until: date, unit: str) -> list[Bucket]:
    result = []
    start = since
    while start <= until:
        if unit == "day":
            end = start
        elif unit == "week":
            end = start + timedelta(days=6 - start.weekday())
        else:
            next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            end = next_month - timedelta(days=1)
        end = min(end, until)
        result.append(Bucket(start=start, end=end, unit=unit))
        start = end + timedelta(days=1)
    return result


def trend_unit(days: int, *, finest: str = "week") -> str:
    """Days up to a month (when `finest` is "day"), weeks up to a quarter, then months."""
    if finest == "day" and days <= 31:
        return "day"
    return "week" if days <= 92 else "month"


# --- survey NPS ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NpsPoint:
    bucket: Bucket
    summary: NpsSummary


@dataclass(frozen=True)
class NpsFigures:
    overall: NpsSummary
    trend: list[NpsPoint]
    unit: str


def _nps_in(
    rows: Sequence[tuple[int | None, int, datetime, int]], start: datetime, end: datetime
) -> NpsSummary:
    """NPS of the answers in [start, end): each customer's latest (answered_at, then id),
    every answer without a customer - the rule of selectors.survey_responses."""
    latest: dict[int, tuple[datetime, int, int]] = {}
    anonymous: list[int] = []
    for customer, score, answered_at, pk in rows:
        if not start <= answered_at < end:
            continue
        if customer is None:
            anonymous.append(score)
        elif customer not in latest or (answered_at, pk) > latest[customer][:2]:
            latest[customer] = (answered_at, pk, score)
    scores = anonymous + [score for _at, _pk, score in latest.values()]
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return nps_from_counts(promoters, len(scores) - promoters - detractors, detractors)


def nps_figures(filters: DashboardFilters) -> NpsFigures:
    """NPS of the period (one answer per customer: the latest) and per week or month,
    each point with its own interval and n (indicative below n = 30). One query: the
    period's answers, counted per window here (equal to nps_summary on each window)."""
    rows = list(
        survey_responses(
            kind=SurveyKind.NPS,
            since=filters.start,
            until=filters.end,
            segment=filters.segment,
            campaign=filters.campaign,
            all_answers=True,
        )
        .order_by()
        .values_list("customer_id", "score", "answered_at", "pk")
    )
    unit = trend_unit(filters.days)
    trend = [
        NpsPoint(
            bucket=bucket,
            summary=_nps_in(rows, day_start(bucket.start), day_start(bucket.end + timedelta(days=1))),
        )
        for bucket in buckets(filters.since, filters.until, unit)
    ]
    return NpsFigures(overall=_nps_in(rows, filters.start, filters.end), trend=trend, unit=unit)


def nps_answers(
    *, since: date, until: date, segment: str = "", campaign: str = "", all_answers: bool = False
) -> QuerySet[SurveyResponse]:
    """The NPS answers behind a figure of days `since` to `until` (the ones it counts)."""
    return (
        survey_responses(
            kind=SurveyKind.NPS,
            since=day_start(since),
            until=day_start(until + timedelta(days=1)),
            segment=segment,
            campaign=campaign,
            all_answers=all_answers,
        )
        .select_related("customer")
        .order_by("-answered_at", "-pk")
    )


# --- rollups: sentiment and share of voice ------------------------------------------------


def _rollups(filters: DashboardFilters) -> QuerySet[PostRollup]:
    rows = PostRollup.objects.filter(day__gte=filters.since, day__lte=filters.until)
    if filters.network:
        rows = rows.filter(network=filters.network)
    if filters.segment:
        rows = rows.filter(segment=filters.segment)
    return rows


def _post_rows(filters: DashboardFilters, kind: str) -> QuerySet[PostRollup]:
    """Each post once: those that matched a rule of `kind` (of the campaign, if chosen)."""
    return _rollups(filters).filter(rule__isnull=True, rule_kind=kind, campaign=filters.campaign)


_SPLIT = {"positive": Sum("positive"), "neutral": Sum("neutral"), "negative": Sum("negative")}


def _split(row: dict[str, Any]) -> SentimentSplit:
    return SentimentSplit(
        positive=row.get("positive") or 0, neutral=row.get("neutral") or 0, negative=row.get("negative") or 0
    )


@dataclass(frozen=True)
class SentimentPoint:
    bucket: Bucket
    split: SentimentSplit


@dataclass(frozen=True)
class SentimentFigures:
    """Inferred from public posts about the brand, never NPS: 100 (pos - neg) / all."""

    overall: SentimentSplit
    trend: list[SentimentPoint]
    unit: str
    engagement: int


def sentiment_figures(filters: DashboardFilters) -> SentimentFigures:
    per_day = {
        row["day"]: row
        for row in _post_rows(filters, ListeningRule.Kind.BRAND)
        .order_by()
        .values("day")
        .annotate(**_SPLIT, engagement=Sum("engagement"))
    }
    unit = trend_unit(filters.days, finest="day")
    trend = []
    for bucket in buckets(filters.since, filters.until, unit):
        rows = [row for day, row in per_day.items() if bucket.contains(day)]
        trend.append(
            SentimentPoint(
                bucket=bucket,
                split=_split({label: sum(r[label] or 0 for r in rows) for label in _SPLIT}),
            )
        )
    overall = _split({label: sum(r[label] or 0 for r in per_day.values()) for label in _SPLIT})
    engagement = sum(row["engagement"] or 0 for row in per_day.values())
    return SentimentFigures(overall=overall, trend=trend, unit=unit, engagement=engagement)


@dataclass(frozen=True)
class VoiceFigures:
    overall: VoiceShare
    by_competitor: list[VoiceShare]


def voice_figures(filters: DashboardFilters) -> VoiceFigures:
    """Share of voice = brand / (brand + competitor) posts, each post once per kind
    (the post rows); per competitor rule, the rule's own rows."""
    totals = dict(
        _rollups(filters)
        .filter(rule__isnull=True, campaign=filters.campaign)
        .filter(rule_kind__in=[ListeningRule.Kind.BRAND, ListeningRule.Kind.COMPETITOR])
        .order_by()
        .values("rule_kind")
        .annotate(n=Sum("posts"))
        .values_list("rule_kind", "n")
    )
    rules = list(ListeningRule.objects.filter(kind=ListeningRule.Kind.COMPETITOR).order_by("name"))
    if filters.campaign:
        rules = [rule for rule in rules if rule.campaign == filters.campaign]
    per_rule = dict(
        _rollups(filters)
        .filter(rule__in=[rule.pk for rule in rules])
        .order_by()
        .values("rule")
        .annotate(n=Sum("posts"))
        .values_list("rule", "n")
    )
    overall = VoiceShare(
        rule=None,
        brand=totals.get(ListeningRule.Kind.BRAND) or 0,
        competitor=totals.get(ListeningRule.Kind.COMPETITOR) or 0,
    )
    return VoiceFigures(
        overall=overall,
        by_competitor=[
            VoiceShare(rule=rule, brand=overall.brand, competitor=per_rule.get(rule.pk) or 0)
            for rule in rules
            if rule.active or rule.pk in per_rule
        ],
    )


def volume_by_day(filters: DashboardFilters, *, kind: str = ListeningRule.Kind.BRAND) -> dict[date, int]:
    """Posts per day (each post once) that matched a rule of `kind`."""
    return dict(
        _post_rows(filters, kind).order_by().values("day").annotate(n=Sum("posts")).values_list("day", "n")
    )


# --- scores: top lists and quadrants (latest finished run) --------------------------------


@dataclass(frozen=True)
class ScoredCustomer:
    customer_id: int
    name: str
    segment: str
    influence: float | None
    clv: float | None
    crv: float | None
    referrals: int
    referrals_converted: int


@dataclass(frozen=True)
class Quadrants:
    counts: dict[str, int]
    clv_threshold: float | None
    crv_threshold: float | None
    points: list[dict[str, Any]]  # {"customer": id, "clv": x, "crv": y, "segment": s}
    total: int

    @property
    def sampled(self) -> bool:
        return len(self.points) < self.total


@dataclass(frozen=True)
class ScoreFigures:
    run: ScoreRun
    advocates: list[ScoredCustomer]
    influencers: list[ScoredCustomer]
    quadrants: Quadrants


def _number(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _scored(snapshots: Iterable[dict[str, Any]]) -> list[ScoredCustomer]:
    return [
        ScoredCustomer(
            customer_id=row["customer_id"],
            name=" ".join(p for p in (row["customer__first_name"], row["customer__last_name"]) if p)
            or f"#{row['customer_id']}",
            segment=row["segment"],
            influence=row["influence"],
            clv=_number(row["clv"]),
            crv=_number(row["crv"]),
            referrals=row["referrals"],
            referrals_converted=row["referrals_converted"],
        )
        for row in snapshots
    ]


_ROW = (
    "customer_id", "customer__first_name", "customer__last_name", "segment", "influence", "clv", "crv",
    "referrals", "referrals_converted",
)  # fmt: skip


def _thresholds(run: ScoreRun) -> tuple[float | None, float | None]:
    segments = run.params.get("segments") if isinstance(run.params, dict) else None
    if not isinstance(segments, dict):
        return None, None

    def read(key: str) -> float | None:
        value = segments.get(key)
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return number if math.isfinite(number) else None

    return read("clv_threshold"), read("crv_threshold")


def _quadrants(run: ScoreRun, snapshots: QuerySet[ScoreSnapshot]) -> Quadrants:
    counts = dict.fromkeys(Segment.values, 0)
    for segment, n in (
        snapshots.order_by().values("segment").annotate(n=Count("pk")).values_list("segment", "n")
    ):
        if segment in counts:
            counts[segment] = n
    plotted = snapshots.filter(clv__isnull=False, crv__isnull=False)
    total = plotted.count()
    # A stable sample: every k-th customer by id, the same on every request for this run.
    step = max(1, math.ceil(total / SCATTER_POINTS))
    rows = plotted.order_by("customer_id").values_list("customer_id", "clv", "crv", "segment")
    sample = rows if step == 1 else rows.alias(slot=F("customer_id") % step).filter(slot=0)
    points = [
        {"customer": customer, "clv": float(clv), "crv": float(crv), "segment": segment}
        for customer, clv, crv, segment in sample[:SCATTER_POINTS]
    ]
    clv_threshold, crv_threshold = _thresholds(run)
    return Quadrants(
        counts=counts,
        clv_threshold=clv_threshold,
        crv_threshold=crv_threshold,
        points=points,
        total=total,
    )


def score_figures(filters: DashboardFilters) -> ScoreFigures | None:
    """From the latest finished run (None before any): top advocates (by CRV, then
    converted referrals), top influencers (by influence), the quadrant counts, thresholds
    and a sample of at most SCATTER_POINTS customers. Cached per run and segment."""
    run = latest_run()
    if run is None:
        return None
    key = f"influence:dashboard:scores:{run.pk}:{filters.segment}"
    cached = cache.get(key)
    if isinstance(cached, ScoreFigures):
        return cached
    snapshots = ScoreSnapshot.objects.filter(run=run)
    if filters.segment:
        snapshots = snapshots.filter(segment=filters.segment)
    advocates = _scored(
        snapshots.filter(crv__gt=0)
        .order_by(F("crv").desc(nulls_last=True), "-referrals_converted", "-referrals", "customer_id")
        .values(*_ROW)[:TOP]
    )
    influencers = _scored(
        snapshots.filter(influence__isnull=False)
        .order_by(F("influence").desc(nulls_last=True), "customer_id")
        .values(*_ROW)[:TOP]
    )
    figures = ScoreFigures(
        run=run, advocates=advocates, influencers=influencers, quadrants=_quadrants(run, snapshots)
    )
    cache.set(key, figures, _CACHE_SECONDS)
    return figures


SORTS = {
    "influence": "influence",
    "clv": "clv",
    "crv": "crv",
    "sentiment": "sentiment_index",
    "referrals": "referrals_converted",
}
NPS_CATEGORIES = ("promoter", "passive", "detractor")


def scored_customers(
    *,
    run: ScoreRun,
    segment: str = "",
    network: str = "",
    min_influence: float | None = None,
    nps_category: str = "",
    q: str = "",
    sort: str = "-influence",
) -> QuerySet[ScoreSnapshot]:
    """The run's snapshots with their customer, filtered and sorted by a score (`-` for
    descending; customers without that score last)."""
    from customers.selectors import filter_query

    snapshots = ScoreSnapshot.objects.filter(run=run).select_related("customer")
    if segment:
        snapshots = snapshots.filter(segment=segment)
    if network:
        owners = SocialIdentity.objects.filter(network=network, customer__isnull=False).values("customer_id")
        snapshots = snapshots.filter(customer_id__in=owners)
    if min_influence is not None:
        snapshots = snapshots.filter(influence__gte=min_influence)
    if nps_category:
        snapshots = snapshots.filter(nps_category=nps_category)
    if q.strip():
        snapshots = snapshots.filter(customer__in=filter_query(Customer.objects.all(), q))
    column = SORTS.get(sort.lstrip("-"), "influence")
    order = F(column).desc(nulls_last=True) if sort.startswith("-") else F(column).asc(nulls_last=True)
    return snapshots.order_by(order, "customer_id")


# --- referrals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralFigures:
    referrals: int
    converted: int
    value: Decimal
    rewards_paid: Decimal
    rewards_paid_n: int

    @property
    def conversion_rate(self) -> float | None:
        return 100 * self.converted / self.referrals if self.referrals else None


def referral_figures(filters: DashboardFilters) -> ReferralFigures:
    """Referrals made in the period (by the referrer's segment and the campaign):
    how many, how many converted, their realised value and the rewards paid."""
    referrals = Referral.objects.filter(referred_at__gte=filters.start, referred_at__lt=filters.end)
    if filters.segment:
        referrals = referrals.filter(referrer__segment=filters.segment)
    if filters.campaign:
        referrals = referrals.filter(campaign=filters.campaign)
    totals = referrals.aggregate(
        n=Count("pk"),
        converted=Count("pk", filter=Q(converted_at__isnull=False)),
        value=Sum("value", filter=Q(converted_at__isnull=False)),
        paid=Sum("reward_amount", filter=Q(reward_paid_at__isnull=False)),
        paid_n=Count("pk", filter=Q(reward_paid_at__isnull=False)),
    )
    return ReferralFigures(
        referrals=totals["n"],
        converted=totals["converted"],
        value=totals["value"] or Decimal(0),
        rewards_paid=totals["paid"] or Decimal(0),
        rewards_paid_n=totals["paid_n"],
    )


# --- everything ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    filters: DashboardFilters
    nps: NpsFigures
    sentiment: SentimentFigures
    voice: VoiceFigures
    scores: ScoreFigures | None
    referrals: ReferralFigures
    rollups_as_of: datetime | None = None
    campaigns: list[str] = field(default_factory=list)


def campaigns() -> list[str]:
    """Campaign names known to the listening rules (the campaign filter's choices)."""
    names = ListeningRule.objects.exclude(campaign="").values_list("campaign", flat=True).distinct()
    return sorted(set(names))


def _data_version() -> tuple[Any, ...]:
    """What the figures are made of, in a few index reads: the rollups' last rebuild, the
    latest score run, the latest survey answer, the referrals' latest change. Any new
    data gives a new version, so a cached dashboard is never older than its data."""
    latest = PostRollup.objects.order_by("-day").values_list("rebuilt_at", flat=True).first()
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).aggregate(last=Max("pk"))["last"]
    answers = SurveyResponse.objects.aggregate(last=Max("pk"))["last"]
    referrals = Referral.objects.aggregate(
        last=Max("pk"), converted=Max("converted_at"), paid=Max("reward_paid_at"), valued=Sum("value")
    )
    return (latest, run, answers, tuple(referrals.values()))


def dashboard(filters: DashboardFilters) -> Dashboard:
    """Every figure of the page. Kept in the cache under the filters and the data version
    (a minute at most, to bound memory): the page is read far more often than it changes."""
    version = _data_version()
    key = "influence:dashboard:" + hashlib.sha256(repr((filters, version)).encode()).hexdigest()
    cached = cache.get(key)
    if isinstance(cached, Dashboard):
        return cached
    board = Dashboard(
        filters=filters,
        nps=nps_figures(filters),
        sentiment=sentiment_figures(filters),
        voice=voice_figures(filters),
        scores=score_figures(filters),
        referrals=referral_figures(filters),
        rollups_as_of=version[0],
        campaigns=campaigns(),
    )
    cache.set(key, board, DASHBOARD_CACHE_SECONDS)
    return board
