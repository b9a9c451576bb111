"""Survey reads: NPS with its standard error and 95 % interval, CSAT (docs/metrics.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from customers.models import Customer

from .models import ScoreRun, ScoreSnapshot, SurveyKind, SurveyResponse

INDICATIVE_BELOW = 30
Z95 = 1.96


@dataclass(frozen=True)
class NpsSummary:
    nps: float | None
    n: int
    promoters: int
    passives: int
    detractors: int
    se: float | None
    ci_low: float | None
    ci_high: float | None
    indicative: bool


@dataclass(frozen=True)
class CsatSummary:
    csat: float | None  # share of 4-5 answers, in %
    n: int
    satisfied: int
    indicative: bool


def nps_from_counts(promoters: int, passives: int, detractors: int) -> NpsSummary:
    """NPS = 100 (P - D) / n; SE = 100 sqrt((p + d - (p - d)^2) / n); 95 % interval NPS +/- 1.96 SE,
    clipped to [-100, 100]."""
    n = promoters + passives + detractors
    if n == 0:
        return NpsSummary(None, 0, 0, 0, 0, None, None, None, True)
    p, d = promoters / n, detractors / n
    nps = 100 * (p - d)
    se = 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return NpsSummary(
        nps=nps,
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        se=se,
        ci_low=max(-100.0, nps - Z95 * se),
        ci_high=min(100.0, nps + Z95 * se),
        indicative=n < INDICATIVE_BELOW,
    )


def nps_differ(first: NpsSummary, second: NpsSummary) -> bool:
    """Two scores differ when |NPS1 - NPS2| / sqrt(SE1^2 + SE2^2) > 1.96."""
    if first.nps is None or second.nps is None or first.se is None or second.se is None:
        return False
    spread = math.sqrt(first.se**2 + second.se**2)
    if spread == 0:
        return first.nps != second.nps
    return abs(first.nps - second.nps) / spread > Z95


@dataclass(frozen=True)
class NpsComparison:
    first: NpsSummary
    second: NpsSummary
    difference: float | None  # first.nps - second.nps
    # |difference| / sqrt(SE1^2 + SE2^2); None when a side has no answer or both SE are 0
    z: float | None
    significant: bool  # z > 1.96 (with both SE 0: any difference)


def nps_compare(first_filters: dict[str, Any], second_filters: dict[str, Any]) -> NpsComparison:
    """Two periods or segments side by side (filters as survey_responses takes them): both
    summaries, their difference, z and whether they differ at 95 % (docs/metrics.md)."""
    first, second = nps_summary(**first_filters), nps_summary(**second_filters)
    difference = z = None
    if first.nps is not None and second.nps is not None:
        difference = first.nps - second.nps
        spread = math.sqrt((first.se or 0.0) ** 2 + (second.se or 0.0) ** 2)
        z = abs(difference) / spread if spread else None
    return NpsComparison(first, second, difference, z, nps_differ(first, second))


def survey_responses(
    *,
    kind: str,
    since: datetime | None = None,
    until: datetime | None = None,
    segment: str = "",
    channel: str = "",
    campaign: str = "",
    customer: Customer | None = None,
    all_answers: bool = False,
) -> QuerySet[SurveyResponse]:
    """Answers of one kind in [since, until), by customer segment, channel and campaign. Unless
    `all_answers`, only each customer's latest answer in the period counts (answers
    without a customer each count)."""
    responses = SurveyResponse.objects.filter(kind=kind)
    if since:
        responses = responses.filter(answered_at__gte=since)
    if until:
        responses = responses.filter(answered_at__lt=until)
    if segment:
        responses = responses.filter(customer__segment=segment)
    if channel:
        responses = responses.filter(channel=channel)
    if campaign:
        responses = responses.filter(campaign=campaign)
    if customer is not None:
        responses = responses.filter(customer=customer)
    if all_answers:
        return responses
    later = responses.filter(customer=OuterRef("customer")).filter(
        Q(answered_at__gt=OuterRef("answered_at"))
        | Q(answered_at=OuterRef("answered_at"), pk__gt=OuterRef("pk"))
    )
    return responses.filter(Q(customer__isnull=True) | ~Exists(later))


def nps_summary(**filters: object) -> NpsSummary:
    counts = survey_responses(kind=SurveyKind.NPS, **filters).aggregate(  # type: ignore[arg-type]
        promoters=Count("pk", filter=Q(score__gte=9)),
        passives=Count("pk", filter=Q(score__gte=7, score__lte=8)),
        detractors=Count("pk", filter=Q(score__lte=6)),
    )
    return nps_from_counts(counts["promoters"], counts["passives"], counts["detractors"])


def csat_summary(**filters: object) -> CsatSummary:
    """CSAT = share of 4-5 answers. Every answer counts unless the caller keeps one per customer:
    a CSAT answer is about one interaction."""
    filters.setdefault("all_answers", True)
    counts = survey_responses(kind=SurveyKind.CSAT, **filters).aggregate(  # type: ignore[arg-type]
        n=Count("pk"), satisfied=Count("pk", filter=Q(score__gte=4))
    )
    n, satisfied = counts["n"], counts["satisfied"]
    return CsatSummary(
        csat=100 * satisfied / n if n else None, n=n, satisfied=satisfied, indicative=n < INDICATIVE_BELOW
    )


def nps_category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def latest_answers_of_customer(*, customer: Customer, limit: int = 5) -> list[SurveyResponse]:
    return list(SurveyResponse.objects.filter(customer=customer).order_by("-answered_at", "-pk")[:limit])


# --- scores (read from snapshots, never recomputed in a request) -------------------------


def latest_run() -> ScoreRun | None:
    """The latest finished score run: what the dashboards and the API show."""
    return (
        ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-as_of", "-finished_at", "-pk").first()
    )


def score_history(*, customer: Customer, limit: int = 30) -> list[ScoreSnapshot]:
    """The customer's snapshots, newest first."""
    return list(ScoreSnapshot.objects.filter(customer=customer).order_by("-as_of")[:limit])


# What a customer's scores read before any run; after one, the latest snapshot's values.
NO_SCORES: dict[str, Any] = {
    "influence": None, "influence_components": {}, "clv": None, "clv_basis": "", "expected_purchases": None,
    "crv": None, "crv_realised": None, "crv_expected": None, "referrals": 0, "referrals_converted": 0,
    "segment": "", "sentiment_index": None, "sentiment_posts": 0, "nps_category": "", "as_of": None,
    "computed_at": None,
}  # fmt: skip
HISTORY_FIELDS = ("as_of", "influence", "clv", "crv", "segment", "sentiment_index")


def customer_scores(*, customer: Customer, history: int = 30) -> dict[str, Any]:
    """The latest snapshot of a customer as the API and the 360 show it; nulls before any run."""
    snapshots = score_history(customer=customer, limit=max(history, 1))
    latest = {field: getattr(snapshots[0], field) for field in NO_SCORES} if snapshots else NO_SCORES
    return {
        "customer": customer.pk,
        **latest,
        "history": [
            {field: getattr(s, field) for field in HISTORY_FIELDS} for s in reversed(snapshots[:history])
        ],
    }
