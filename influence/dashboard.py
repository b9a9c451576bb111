"""Marketing dashboard reads (docs/metrics.md): survey NPS with its interval and trend,
the inferred sentiment index and share of voice from the post rollups (influence.rollups
says which rollup rows each figure sums), top advocates and influencers and the CLV x CRV
quadrants from the latest score run's snapshots (`influence.dashboard_scores`), referrals
of the period. Nothing here scans the posts table; every figure carries its n. The
filters and the trend buckets live in `influence.dashboard_filters`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet, Sum

from scrm.caching import cached_instance
from social.models import ListeningRule
from social.selectors import SentimentSplit, VoiceShare

from .dashboard_filters import Bucket, DashboardFilters, buckets, day_start, trend_unit
from .dashboard_scores import ScoreFigures, score_figures
from .models import PostRollup, Referral, ScoreRun, SurveyKind, SurveyResponse
from .selectors import NpsSummary, nps_from_counts, survey_responses

DASHBOARD_CACHE_SECONDS = 60


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
    cached = cached_instance(key, Dashboard)
    if cached is not None:
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
