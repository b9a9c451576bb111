"""Dashboard figures from the latest finished score run's snapshots: top advocates and
influencers, the CLV x CRV quadrants, and the scored customers list behind them.

What snapshots give does not change once a run is done: those figures are cached per run
and segment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, QuerySet

from customers.models import Customer, SocialIdentity
from scrm.caching import cached_instance

from .dashboard_filters import DashboardFilters
from .models import ScoreRun, ScoreSnapshot, Segment
from .selectors import latest_run

SCATTER_POINTS = 1500
TOP = 10
_CACHE_SECONDS = 24 * 3600


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

    @property
    def segment_label(self) -> str:
        return str(dict(Segment.choices).get(self.segment, self.segment))


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
    cached = cached_instance(key, ScoreFigures)
    if cached is not None:
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
