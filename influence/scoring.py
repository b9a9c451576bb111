"""The score recompute: every live customer's influence, CLV, CRV, segment, sentiment index
and NPS category, written as one day's ScoreSnapshot rows (docs/scores.md).

Runs nightly (beat) and on demand (`recompute_scores`, the scores page). One run at a time.
The pieces are computed set-wise over arrays (graph.py, clv.py, crv.py); this module lines
them up on the customer ids, writes the snapshots in one transaction (readers see the
previous run until it commits) and records what it used in ScoreRun.params so that every
number can be explained. The web and the API read snapshots, never recompute.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from scrm.db import insert_new, update_rows
from scrm.errors import Conflict

from .models import Referral, ScoreRun, ScoreSnapshot, SurveyKind, SurveyResponse
from .selectors import nps_category

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (step, done, total)

LOCK_KEY = "influence:scores-recompute"
LOCK_SECONDS = 3 * 3600
SNAPSHOT_CHUNK = 10_000
STEPS = ("referrals", "clv", "crv", "influence", "surveys", "snapshots", "rollups")


class ScoresBusy(Conflict):
    def __init__(self) -> None:
        super().__init__(_("Scores are already being recomputed; wait for that run to finish."))


@contextmanager
def _single_run() -> Iterator[None]:
    if not cache.add(LOCK_KEY, "1", LOCK_SECONDS):
        raise ScoresBusy()
    try:
        yield
    finally:
        cache.delete(LOCK_KEY)


def _money(value: float | None) -> Decimal | None:
    if value is None or not math.isfinite(value):
        return None
    return Decimal(f"{value:.2f}")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _Aligned:
    """Looks up a per-customer array computed on another id order, by customer id."""

    def __init__(self, all_ids: np.ndarray, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        where = np.searchsorted(sorted_ids, all_ids)
        where = np.clip(where, 0, max(len(sorted_ids) - 1, 0))
        self.found = (sorted_ids[where] == all_ids) if len(sorted_ids) else np.zeros(len(all_ids), dtype=bool)
        self.index = np.where(self.found, order[where] if len(order) else 0, -1)

    def take(self, values: np.ndarray, missing: Any = np.nan) -> np.ndarray:
        values = np.asarray(values)
        if not len(values):
            return np.full(len(self.index), missing, dtype=object if values.dtype == object else float)
        out = values[np.maximum(self.index, 0)].astype(values.dtype if values.dtype == object else float)
        out[~self.found] = missing
        return out


def latest_nps_categories(*, until: datetime | None = None) -> dict[int, str]:
    """Each customer's latest NPS answer (given by `until`) -> promoter / passive / detractor."""
    latest: dict[int, tuple[datetime, int, int]] = {}
    answers = SurveyResponse.objects.filter(kind=SurveyKind.NPS, customer__isnull=False)
    if until is not None:
        answers = answers.filter(answered_at__lte=until)
    rows = answers.values_list("customer_id", "answered_at", "pk", "score").iterator(chunk_size=10_000)
    for customer_id, answered_at, pk, score in rows:
        seen = latest.get(customer_id)
        if seen is None or (answered_at, pk) > (seen[0], seen[1]):
            latest[customer_id] = (answered_at, pk, score)
    return {customer_id: nps_category(score) for customer_id, (_at, _pk, score) in latest.items()}


def _segments_follow(run: ScoreRun) -> int:
    """Copy each customer's new segment onto the record (the customer list and survey filters
    use it), in one statement, touching only the records whose segment changed."""
    customers = Customer.objects.filter(pk=OuterRef("customer_id"))
    changed = ScoreSnapshot.objects.filter(run=run).exclude(segment=Subquery(customers.values("segment")[:1]))
    ids = changed.values("customer_id")
    segment = ScoreSnapshot.objects.filter(run=run, customer_id=OuterRef("pk")).values("segment")[:1]
    return Customer.objects.filter(pk__in=ids).update(segment=Subquery(segment))


def scores_recompute(
    *,
    trigger: str,
    as_of: datetime | None = None,
    progress: Progress | None = None,
    rollups: bool = True,
) -> ScoreRun:
    """Compute every score as of `as_of` (now) and store them as that day's snapshots,
    replacing an earlier run of the same day. Raises ScoresBusy if a run is going on.

    A past `as_of` fills in history (`recompute_scores --history`): only what was known
    then counts (customers, purchases, edges, posts, referrals and answers up to that
    moment), and the customer records' segments, the referrals' values and the rollups,
    which say what is true now, are left to the latest run."""
    with _single_run():
        # Holding the lock, any run still marked running was cut off (a worker killed).
        ScoreRun.objects.filter(status=ScoreRun.Status.RUNNING).update(
            status=ScoreRun.Status.FAILED,
            finished_at=timezone.now(),
            error="interrupted: the process stopped before the run finished",
        )
        moment = as_of or timezone.now()
        day = timezone.localdate(moment)
        run = ScoreRun.objects.create(as_of=day, trigger=trigger[:100], total=len(STEPS))
        try:
            _compute(run, moment, day, progress or (lambda *_: None), rollups=rollups)
        except Exception as exc:
            logger.exception("score run %s failed", run.pk)
            ScoreRun.objects.filter(pk=run.pk).update(
                status=ScoreRun.Status.FAILED,
                finished_at=timezone.now(),
                error=f"{type(exc).__name__}: {exc}",
            )
            raise
        run.refresh_from_db()
        return run


def _compute(run: ScoreRun, moment: datetime, day: date, progress: Progress, *, rollups: bool) -> None:
    from .clv import customer_clv
    from .crv import assign_segments, customer_crv
    from .graph import customer_influence, sentiment_index
    from .referrals import referrals_convert_pending
    from .rollups import rollups_refresh

    timings: dict[str, float] = {}
    state = {"done": 0}

    @contextmanager
    def step(name: str) -> Iterator[None]:
        ScoreRun.objects.filter(pk=run.pk).update(step=name, done=state["done"])
        progress(name, state["done"], len(STEPS))
        started = time.perf_counter()
        yield
        timings[name] = round(time.perf_counter() - started, 3)
        state["done"] += 1

    current = day >= timezone.localdate()  # a past day fills in history only
    all_ids = np.fromiter(
        Customer.objects.filter(merged_into__isnull=True, created_at__lte=moment)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator(),
        dtype=np.int64,
    )
    params: dict[str, Any] = {}

    with step("referrals"):
        params["referrals_converted_now"] = referrals_convert_pending(as_of=moment)

    with step("clv"):
        clv = customer_clv(as_of=moment)
        params["clv"] = clv.params
        on_clv = _Aligned(all_ids, clv.customer_ids)
        clv_values = on_clv.take(clv.clv)
        clv_basis = on_clv.take(np.asarray(clv.basis, dtype=object), missing="")
        expected_purchases = on_clv.take(clv.expected_purchases)

    with step("crv"):
        clv_by_customer = clv.by_customer()
        crv = customer_crv(as_of=moment, clv_by_customer=clv_by_customer)
        on_crv = _Aligned(all_ids, crv.customer_ids)
        crv_values = np.nan_to_num(on_crv.take(crv.crv), nan=0.0)
        crv_realised = np.nan_to_num(on_crv.take(crv.realised), nan=0.0)
        crv_expected = np.nan_to_num(on_crv.take(crv.expected), nan=0.0)
        referrals = np.nan_to_num(on_crv.take(crv.referrals), nan=0.0).astype(np.int64)
        converted_referrals = np.nan_to_num(on_crv.take(crv.converted), nan=0.0).astype(np.int64)
        segments, thresholds = assign_segments(
            np.nan_to_num(clv_values, nan=0.0),
            crv_values,
            clv_threshold=settings.SCORES_SEGMENT_CLV_THRESHOLD,
            crv_threshold=settings.SCORES_SEGMENT_CRV_THRESHOLD,
        )
        params["segments"] = {k: _number(v) for k, v in thresholds.items()}
        params["crv"] = crv.params
        referral_values = [
            {"id": int(pk), "value": _money(value)} for pk, value in crv.referral_value_by_id.items()
        ]

    with step("influence"):
        influence = customer_influence(as_of=moment)
        on_influence = _Aligned(all_ids, influence.customer_ids)
        influence_score = on_influence.take(influence.score)
        positive = np.nan_to_num(on_influence.take(influence.sentiment_positive), nan=0.0).astype(np.int64)
        negative = np.nan_to_num(on_influence.take(influence.sentiment_negative), nan=0.0).astype(np.int64)
        posts = np.nan_to_num(on_influence.take(influence.sentiment_posts), nan=0.0).astype(np.int64)
        params["influence"] = {
            "weights": dict(settings.INFLUENCE_WEIGHTS),
            "half_life_days": settings.INFLUENCE_HALF_LIFE_DAYS,
            "window_days": settings.SCORES_SENTIMENT_WINDOW_DAYS,
            "alpha": 0.85,
        }
        run.identities = int(influence.identities)
        run.edges = int(influence.edges)

    with step("surveys"):
        categories = latest_nps_categories(until=moment)

    with step("snapshots"):
        computed_at = timezone.now()

        def snapshot_rows(indices: range) -> list[dict[str, Any]]:
            rows = []
            for i in indices:
                customer_id = int(all_ids[i])
                at = int(on_influence.index[i])
                rows.append(
                    {
                        "run_id": run.pk,
                        "customer_id": customer_id,
                        "as_of": day,
                        "influence": None if at < 0 else _number(round(float(influence_score[i]), 2)),
                        "influence_components": {} if at < 0 else influence.components_for(at),
                        "clv": _money(_number(clv_values[i])),
                        "clv_basis": clv_basis[i] or "",
                        "expected_purchases": _number(expected_purchases[i]),
                        "crv": _money(float(crv_values[i])),
                        "crv_realised": _money(float(crv_realised[i])) or Decimal(0),
                        "crv_expected": _money(float(crv_expected[i])) or Decimal(0),
                        "referrals": int(referrals[i]),
                        "referrals_converted": int(converted_referrals[i]),
                        "segment": str(segments[i]),
                        "sentiment_index": _number(
                            sentiment_index(int(positive[i]), int(negative[i]), int(posts[i]))
                        ),
                        "sentiment_positive": int(positive[i]),
                        "sentiment_negative": int(negative[i]),
                        "sentiment_posts": int(posts[i]),
                        "nps_category": categories.get(customer_id, ""),
                        "computed_at": computed_at,
                    }
                )
            return rows

        names, counts = np.unique(segments.astype(str), return_counts=True)
        segment_counts = {str(name): int(n) for name, n in zip(names, counts, strict=True)}
        with transaction.atomic():
            ScoreSnapshot.objects.filter(as_of=day).delete()
            # Built and written a chunk at a time: 100,000 rows of dicts never sit in memory at once.
            for start in range(0, len(all_ids), SNAPSHOT_CHUNK):
                chunk = snapshot_rows(range(start, min(start + SNAPSHOT_CHUNK, len(all_ids))))
                insert_new(ScoreSnapshot, chunk, unique=("customer", "as_of"))
            changed = _segments_follow(run) if current else 0
            if current:
                update_rows(Referral, referral_values)
            run.customers = len(all_ids)
            run.status = ScoreRun.Status.DONE
            run.params = params
            run.summary = {
                "segments": segment_counts,
                "influenced": int(on_influence.found.sum()),
                "modelled_clv": int(sum(1 for b in clv_basis if b == "model")),
                "cohort_clv": int(sum(1 for b in clv_basis if b == "cohort")),
                "with_referrals": int((referrals > 0).sum()),
                "segments_changed": changed,
                "referrals_valued": len(referral_values) if current else 0,
                "history": not current,
                "timings": timings,
            }
            run.finished_at = timezone.now()
            run.step = "snapshots"
            run.save()

    if rollups and current:
        with step("rollups"):
            rollups_refresh(days=None)
    else:
        state["done"] += 1
    run.summary["timings"] = timings
    ScoreRun.objects.filter(pk=run.pk).update(step="", done=len(STEPS), summary=run.summary)
    progress("done", len(STEPS), len(STEPS))
