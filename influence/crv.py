"""Customer referral value after Kumar, Petersen & Leone (2007), and the four CLV x CRV
segments (docs/metrics.md "CRV"; formulas and choices in docs/scores.md).

- A converted referral is worth, net of its reward: type 1 (would not have come otherwise)
  the referred customer's CLV, type 2 (would have come anyway) the acquisition cost saved
  (REFERRAL_ACQUISITION_COST). That net value is what `Referral.value` stores.
- Realised CRV: the referrals converted in the last `window_months`, each discounted by
  the whole months between its conversion and as_of, value / (1 + d)^m.
- Expected CRV: the customer's referrals per month over the window x the conversion rate
  x the mean value of a converted referral (both over every referral of the window), for
  each month k = 1..horizon, discounted by (1 + d)^k.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from django.conf import settings
from numpy.typing import ArrayLike, NDArray

from customers.models import Customer

from .clv import as_of_cutoff
from .clv_models import DAYS_PER_MONTH, FloatArray
from .models import Referral, Segment

IntArray = NDArray[np.int64]
_EPOCH = date(1970, 1, 1)


def _utc_day(moment: datetime) -> int:
    return (moment.astimezone(UTC).date() - _EPOCH).days


def survivors(customer_ids: Iterable[int]) -> dict[int, int]:
    """The live record of each merged (tombstone) customer among `customer_ids`, following
    chains of merges; ids that are not tombstones are left out."""
    pending = set(customer_ids)
    merged: dict[int, int] = {}
    for _depth in range(20):  # chains are short; a cycle cannot loop forever
        if not pending:
            break
        step = dict(
            Customer.objects.filter(pk__in=pending, merged_into__isnull=False).values_list(
                "pk", "merged_into_id"
            )
        )
        merged.update(step)
        pending = set(step.values()) - set(merged)
    resolved = {}
    for tombstone in merged:
        live, seen = tombstone, set()
        while live in merged and live not in seen:
            seen.add(live)
            live = merged[live]
        resolved[tombstone] = live
    return resolved


@dataclass(frozen=True)
class ReferralValues:
    """Every referral made up to as_of; value fields are NaN for those not converted by then."""

    referral_ids: IntArray
    referrer_ids: IntArray  # the live record (a merged referrer's survivor)
    referred_ids: IntArray  # likewise
    types: NDArray[np.str_]
    referred_days_ago: IntArray  # whole UTC days from the referral to as_of
    converted: NDArray[np.bool_]  # converted at or before as_of
    converted_days_ago: IntArray  # -1 unless converted
    months_ago: IntArray  # floor(converted_days_ago / DAYS_PER_MONTH); -1 unless converted
    value: FloatArray  # net value: CLV (type 1) or acquisition cost (type 2) - reward
    discounted: FloatArray  # value / (1 + monthly_discount)^months_ago

    def __len__(self) -> int:
        return len(self.referral_ids)


def referral_values(
    *,
    as_of: datetime | date,
    clv_by_customer: Mapping[int, float],
    monthly_discount: float | None = None,
    acquisition_cost: float | None = None,
) -> ReferralValues:
    """The referrals made up to as_of and the value of those converted by then (module
    docstring). A referred customer missing from `clv_by_customer` (even as a merge survivor)
    brings a CLV of 0."""
    discount = float(settings.SCORES_MONTHLY_DISCOUNT if monthly_discount is None else monthly_discount)
    saved = float(settings.REFERRAL_ACQUISITION_COST if acquisition_cost is None else acquisition_cost)
    cutoff, as_of_day = as_of_cutoff(as_of)
    rows = list(
        Referral.objects.filter(referred_at__lt=cutoff)
        .order_by("pk")
        .values_list(
            "pk", "referrer_id", "referred_id", "type", "referred_at", "converted_at", "reward_amount"
        )
    )
    live = survivors({c for row in rows for c in row[1:3]} - set(clv_by_customer))
    conversions = [row[5] if row[5] is not None and row[5] < cutoff else None for row in rows]
    converted = np.array([moment is not None for moment in conversions], dtype=bool)
    converted_days = np.array(
        [-1 if moment is None else as_of_day - _utc_day(moment) for moment in conversions], dtype=np.int64
    )
    referred_ids = np.array([live.get(row[2], row[2]) for row in rows], dtype=np.int64)
    types = np.array([row[3] for row in rows], dtype=np.str_)
    clv = np.array([float(clv_by_customer.get(int(c), 0.0)) for c in referred_ids])
    rewards = np.array([float(row[6]) for row in rows])
    gross = np.where(types == Referral.Type.TYPE2, saved, clv)
    value = np.where(converted, gross - rewards, np.nan)
    months = np.where(converted, np.floor(converted_days / DAYS_PER_MONTH), -1).astype(np.int64)
    return ReferralValues(
        referral_ids=np.array([row[0] for row in rows], dtype=np.int64),
        referrer_ids=np.array([live.get(row[1], row[1]) for row in rows], dtype=np.int64),
        referred_ids=referred_ids,
        types=types,
        referred_days_ago=np.array([as_of_day - _utc_day(row[4]) for row in rows], dtype=np.int64),
        converted=converted,
        converted_days_ago=converted_days,
        months_ago=months,
        value=value,
        discounted=np.where(converted, value / (1.0 + discount) ** np.maximum(months, 0), np.nan),
    )


@dataclass(frozen=True)
class CrvResult:
    customer_ids: IntArray  # in the order of clv_by_customer
    realised: FloatArray
    expected: FloatArray
    crv: FloatArray
    referrals: IntArray  # referrals made in the window
    converted: IntArray  # referrals converted in the window
    referral_value_by_id: dict[int, float]  # net value of every converted referral (Referral.value)
    params: dict[str, Any] = field(default_factory=dict)


def annuity_factor(horizon_months: int, monthly_discount: float) -> float:
    """sum over k = 1..horizon of 1 / (1 + d)^k."""
    months = np.arange(1, horizon_months + 1, dtype=np.float64)
    return float(((1.0 + monthly_discount) ** -months).sum())


def customer_crv(
    *,
    as_of: datetime | date,
    clv_by_customer: Mapping[int, float],
    window_months: int = 12,
    horizon_months: int | None = None,
    monthly_discount: float | None = None,
    acquisition_cost: float | None = None,
) -> CrvResult:
    """CRV = realised + expected (module docstring) for every customer of `clv_by_customer`
    (the live customers of the run, in its order). Referrals of a merged referrer count for
    its survivor; referrers outside `clv_by_customer` are left out of the arrays but their
    converted referrals are still valued in `referral_value_by_id`."""
    horizon = int(settings.SCORES_CLV_HORIZON_MONTHS if horizon_months is None else horizon_months)
    discount = float(settings.SCORES_MONTHLY_DISCOUNT if monthly_discount is None else monthly_discount)
    if window_months < 1 or horizon < 1 or discount < 0:
        raise ValueError("window_months >= 1, horizon_months >= 1 and monthly_discount >= 0")
    history = referral_values(
        as_of=as_of,
        clv_by_customer=clv_by_customer,
        monthly_discount=discount,
        acquisition_cost=acquisition_cost,
    )
    customer_ids = np.fromiter(clv_by_customer.keys(), dtype=np.int64, count=len(clv_by_customer))
    window_days = window_months * DAYS_PER_MONTH
    made = (history.referred_days_ago >= 0) & (history.referred_days_ago < window_days)
    converted = history.converted & (history.converted_days_ago < window_days)

    # Position of each referrer among customer_ids (-1: not one of them).
    order = np.argsort(customer_ids, kind="stable")
    found = np.searchsorted(customer_ids[order], history.referrer_ids)
    found = np.minimum(found, max(len(customer_ids) - 1, 0))
    position = np.full(len(history), -1, dtype=np.int64)
    if len(customer_ids):
        hit = customer_ids[order][found] == history.referrer_ids
        position[hit] = order[found[hit]]
    n = len(customer_ids)

    def per_customer(mask: NDArray[np.bool_], weights: ArrayLike | None = None) -> FloatArray:
        keep = mask & (position >= 0)
        chosen = None if weights is None else np.asarray(weights)[keep]
        return np.bincount(position[keep], weights=chosen, minlength=n).astype(np.float64)

    realised = per_customer(converted, history.discounted)
    referrals = per_customer(made).astype(np.int64)
    made_converted = int((made & history.converted).sum())
    conversion_rate = made_converted / int(made.sum()) if made.any() else 0.0
    mean_value = float(history.value[converted].mean()) if converted.any() else 0.0
    annuity = annuity_factor(horizon, discount)
    expected = referrals / window_months * conversion_rate * mean_value * annuity
    return CrvResult(
        customer_ids=customer_ids,
        realised=realised,
        expected=expected,
        crv=realised + expected,
        referrals=referrals,
        converted=per_customer(converted).astype(np.int64),
        referral_value_by_id={
            int(pk): float(value)
            for pk, value in zip(
                history.referral_ids[history.converted], history.value[history.converted], strict=True
            )
        },
        params={
            "window_months": window_months,
            "horizon_months": horizon,
            "monthly_discount": discount,
            "acquisition_cost": float(
                settings.REFERRAL_ACQUISITION_COST if acquisition_cost is None else acquisition_cost
            ),
            "referrals_in_window": int(made.sum()),
            "conversion_rate": conversion_rate,
            "converted_in_window": int(converted.sum()),
            "mean_referral_value": mean_value,
            "annuity_factor": annuity,
        },
    )


# --- segments -----------------------------------------------------------------------------


def _threshold(values: FloatArray, given: float | None, setting: float | None) -> float:
    if given is not None:
        return float(given)
    if setting is not None:
        return float(setting)
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else 0.0


def assign_segments(
    clv: ArrayLike,
    crv: ArrayLike,
    *,
    clv_threshold: float | None = None,
    crv_threshold: float | None = None,
) -> tuple[NDArray[np.str_], dict[str, float]]:
    """Kumar's four segments. "High" means strictly above the threshold: the one given, else
    SCORES_SEGMENT_CLV_THRESHOLD / SCORES_SEGMENT_CRV_THRESHOLD, else the median of the run
    (so values tied at the median are low, and with a median CRV of 0 any positive CRV is
    high). A missing (NaN) value is low. Returns the labels and the thresholds used."""
    clv_values, crv_values = (np.asarray(a, dtype=np.float64).ravel() for a in (clv, crv))
    if len(clv_values) != len(crv_values):
        raise ValueError("clv and crv of different lengths")
    thresholds = {
        "clv_threshold": _threshold(clv_values, clv_threshold, settings.SCORES_SEGMENT_CLV_THRESHOLD),
        "crv_threshold": _threshold(crv_values, crv_threshold, settings.SCORES_SEGMENT_CRV_THRESHOLD),
    }
    with np.errstate(invalid="ignore"):
        high_clv = clv_values > thresholds["clv_threshold"]
        high_crv = crv_values > thresholds["crv_threshold"]
    labels = np.select(
        [high_clv & high_crv, high_clv, high_crv],
        [Segment.CHAMPIONS.value, Segment.AFFLUENTS.value, Segment.ADVOCATES.value],
        default=Segment.MISERS.value,
    )
    return labels.astype(np.str_), thresholds
