"""Customer lifetime value from the database (docs/metrics.md "CLV", docs/scores.md "Value:
CLV, CRV, segments"), with the BG/NBD and Gamma-Gamma models of `influence.clv_models`
(where frequency, recency, T and monetary value are defined, in weeks). Days are UTC
calendar days.

`purchase_summary` reads those from the database in one query; `customer_clv` fits both
models on the customers with enough history and gives the others their cohort's average.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from numpy.typing import NDArray

from customers.models import Customer, Purchase
from scrm.arrays import fetch_columns

from .clv_models import (
    DAYS_PER_MONTH,
    WEEKS_PER_MONTH,
    FloatArray,
    ModelFitError,
    cumulative_expected_purchases,
    discounted_value,
    expected_margin,
    fit_bgnbd,
    fit_gamma_gamma,
)

# Below this many modelled customers with repeat purchases the fit says nothing: everyone
# gets the historical average instead (docs/scores.md).
MIN_REPEAT_CUSTOMERS = 10


@dataclass(frozen=True)
class PurchaseSummary:
    """Per live customer (ordered by id), as of `as_of_day` (days since 1970, UTC)."""

    customer_ids: NDArray[np.int64]
    frequency: FloatArray  # repeat purchase days
    recency: FloatArray  # weeks, first to last purchase day
    T: FloatArray  # weeks, first purchase day to as_of_day (0 without purchases)
    monetary: FloatArray  # mean margin of the repeat purchase days (0 without repeats)
    purchase_days: NDArray[np.int64]
    first_purchase_day: NDArray[np.int64]  # days since 1970; meaningless where purchase_days == 0
    created_day: NDArray[np.int64]  # the customer record's creation day
    margin: FloatArray  # all margin up to as_of
    recent_purchase_days: NDArray[np.int64]  # in the last `recent_days` days
    recent_margin: FloatArray
    as_of_day: int
    recent_days: float

    def __len__(self) -> int:
        return len(self.customer_ids)

    @property
    def bought(self) -> NDArray[np.bool_]:
        return self.purchase_days > 0

    @property
    def cohort_month(self) -> NDArray[np.int64]:
        """Months since 1970 of the first purchase, or of the record without purchases."""
        day = np.where(self.bought, self.first_purchase_day, self.created_day)
        return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def as_of_cutoff(as_of: datetime | date) -> tuple[datetime, int]:
    """The instant purchases must be before, and the as-of day (UTC days since 1970). A date
    means the whole of that UTC day; a datetime that instant."""
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        day = as_of.astimezone(UTC).date()
        cutoff = as_of + timedelta(microseconds=1)
    else:
        day = as_of
        cutoff = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
    return cutoff, (day - date(1970, 1, 1)).days


def _utc_day(column: str) -> str:
    if connection.vendor == "sqlite":  # datetimes are stored as UTC text there
        return f"CAST(julianday(date({column})) - 2440587.5 AS BIGINT)"
    return f"CAST(({column} AT TIME ZONE 'UTC')::date - DATE '1970-01-01' AS BIGINT)"


def purchase_summary(*, as_of: datetime | date, recent_months: int | None = None) -> PurchaseSummary:
    """Frequency, recency, T and monetary value of every live customer (`merged_into` null,
    created before as_of or with a purchase before it) from their purchases up to as_of,
    in one GROUP BY query. Purchases of a day count as one purchase (their margins added);
    a purchase without margin counts amount * SCORES_DEFAULT_MARGIN_RATE. Also the margin
    and purchase days of the last `recent_months` (default: the CLV horizon), for the
    fallback when no model can be fitted."""
    months = settings.SCORES_CLV_HORIZON_MONTHS if recent_months is None else recent_months
    cutoff, as_of_day = as_of_cutoff(as_of)
    recent_days = months * DAYS_PER_MONTH
    recent_start = cutoff - timedelta(days=recent_days)
    purchase, customer = (connection.ops.quote_name(m._meta.db_table) for m in (Purchase, Customer))
    margin = "CAST(COALESCE(p.margin, p.amount * %s) AS DOUBLE PRECISION)"
    sql = f"""
        WITH purchase_days AS (
            SELECT p.customer_id AS customer_id, {_utc_day("p.purchased_at")} AS day,
                   SUM({margin}) AS margin,
                   MAX(CASE WHEN p.purchased_at >= %s THEN 1 ELSE 0 END) AS recent,
                   SUM(CASE WHEN p.purchased_at >= %s THEN {margin} ELSE 0 END) AS recent_margin
            FROM {purchase} p
            WHERE p.purchased_at < %s
            GROUP BY p.customer_id, {_utc_day("p.purchased_at")}
        ), ranked AS (
            SELECT customer_id, day, margin, recent, recent_margin,
                   MIN(day) OVER (PARTITION BY customer_id) AS first_day
            FROM purchase_days
        )
        SELECT c.id,
               {_utc_day("c.created_at")},
               CAST(COUNT(r.day) AS BIGINT),
               CAST(COALESCE(MIN(r.day), 0) AS BIGINT),
               CAST(COALESCE(MAX(r.day), 0) AS BIGINT),
               CAST(COALESCE(SUM(CASE WHEN r.day > r.first_day THEN r.margin ELSE 0 END), 0)
                    AS DOUBLE PRECISION),
               CAST(COALESCE(SUM(r.margin), 0) AS DOUBLE PRECISION),
               CAST(COALESCE(SUM(r.recent), 0) AS BIGINT),
               CAST(COALESCE(SUM(r.recent_margin), 0) AS DOUBLE PRECISION)
        FROM {customer} c LEFT JOIN ranked r ON r.customer_id = c.id
        WHERE c.merged_into_id IS NULL
        GROUP BY c.id, c.created_at
        HAVING c.created_at < %s OR COUNT(r.day) > 0
        ORDER BY c.id
    """  # noqa: S608 - table names from _meta, every value bound
    rate = float(settings.SCORES_DEFAULT_MARGIN_RATE)
    adapt = connection.ops.adapt_datetimefield_value
    params = [rate, adapt(recent_start), adapt(recent_start), rate, adapt(cutoff), adapt(cutoff)]
    ids, created, days, first, last, repeat_margin, total, recent, recent_margin = fetch_columns(
        sql, params, "iiiiiffif"
    )
    frequency = np.maximum(days - 1, 0).astype(np.float64)
    bought = days > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_margin / frequency, 0.0)
    return PurchaseSummary(
        customer_ids=ids,
        frequency=frequency,
        recency=np.where(bought, (last - first) / 7.0, 0.0),
        T=np.where(bought, (as_of_day - first) / 7.0, 0.0),
        monetary=monetary,
        purchase_days=days,
        first_purchase_day=first,
        created_day=created,
        margin=total,
        recent_purchase_days=recent,
        recent_margin=recent_margin,
        as_of_day=as_of_day,
        recent_days=recent_days,
    )


@dataclass(frozen=True)
class ClvResult:
    customer_ids: NDArray[np.int64]
    clv: FloatArray  # discounted margin over the horizon
    expected_purchases: FloatArray  # purchase days expected over the horizon
    basis: NDArray[np.str_]  # "model" or "cohort"
    params: dict[str, Any]  # JSON: what the run used and fitted, for ScoreRun.params

    def by_customer(self) -> dict[int, float]:
        return {int(c): float(v) for c, v in zip(self.customer_ids, self.clv, strict=True)}


def _cohort_averages(values: FloatArray, cohort: NDArray[np.int64], known: NDArray[np.bool_]) -> FloatArray:
    """For every customer, the mean of `values` over the known customers of their cohort,
    or over all known customers when their cohort has none."""
    if not known.any():
        return np.zeros(len(values))
    offset = cohort - cohort.min()
    sums = np.bincount(offset[known], weights=values[known], minlength=offset.max() + 1)
    counts = np.bincount(offset[known], minlength=offset.max() + 1)
    overall = float(values[known].mean())
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, overall)
    return np.asarray(means[offset], dtype=np.float64)


def customer_clv(
    *,
    as_of: datetime | date,
    horizon_months: int | None = None,
    monthly_discount: float | None = None,
    min_history_days: int | None = None,
) -> ClvResult:
    """CLV of every live customer over `horizon_months` (SCORES_CLV_HORIZON_MONTHS) at
    `monthly_discount` (SCORES_MONTHLY_DISCOUNT). BG/NBD and Gamma-Gamma are fitted on the
    customers whose first purchase is at least `min_history_days` (SCORES_CLV_MIN_HISTORY_DAYS)
    old, basis "model"; the others (and any the model cannot value) get their acquisition
    cohort's average, basis "cohort". With too little data to fit, everyone gets the
    historical average margin per customer over the last horizon, basis "cohort", and
    params["fallback"] says why. Never raises on empty data."""
    horizon = int(settings.SCORES_CLV_HORIZON_MONTHS if horizon_months is None else horizon_months)
    discount = float(settings.SCORES_MONTHLY_DISCOUNT if monthly_discount is None else monthly_discount)
    min_days = int(settings.SCORES_CLV_MIN_HISTORY_DAYS if min_history_days is None else min_history_days)
    if horizon < 1 or discount < 0 or min_days < 0:
        raise ValueError("horizon_months >= 1, monthly_discount >= 0 and min_history_days >= 0")
    summary = purchase_summary(as_of=as_of, recent_months=horizon)
    n = len(summary)
    modelled = summary.bought & (summary.as_of_day - summary.first_purchase_day >= min_days)
    params: dict[str, Any] = {
        "model": "bgnbd+gamma-gamma",
        "time_unit": "week",
        "weeks_per_month": WEEKS_PER_MONTH,
        "horizon_months": horizon,
        "monthly_discount": discount,
        "min_history_days": min_days,
        "default_margin_rate": float(settings.SCORES_DEFAULT_MARGIN_RATE),
        "customers": n,
        "with_purchases": int(summary.bought.sum()),
    }
    clv = np.zeros(n)
    expected = np.zeros(n)
    valued = np.zeros(n, dtype=bool)
    try:
        repeaters = int((modelled & (summary.frequency > 0)).sum())
        if repeaters < MIN_REPEAT_CUSTOMERS:
            raise ModelFitError(
                f"customers with repeat purchases and enough history: {repeaters}, "
                f"at least {MIN_REPEAT_CUSTOMERS} needed"
            )
        columns = (summary.frequency[modelled], summary.recency[modelled], summary.T[modelled])
        bgnbd = fit_bgnbd(*columns)
        gamma_gamma = fit_gamma_gamma(summary.frequency[modelled], summary.monetary[modelled])
        margin = expected_margin(gamma_gamma, summary.frequency[modelled], summary.monetary[modelled])
        cumulative = cumulative_expected_purchases(bgnbd, *columns, horizon_months=horizon)
        values = discounted_value(cumulative, margin, monthly_discount=discount)
    except ModelFitError as error:
        # The historical average, per customer, of the last horizon's margin and purchase days.
        params.update(model="historical-average", fallback=str(error))
        average_margin = float(summary.recent_margin.sum() / n) if n else 0.0
        average_days = float(summary.recent_purchase_days.sum() / n) if n else 0.0
        return ClvResult(
            customer_ids=summary.customer_ids,
            clv=np.full(n, average_margin),
            expected_purchases=np.full(n, average_days),
            basis=np.full(n, "cohort"),
            params=params,
        )
    finite = np.isfinite(values) & np.isfinite(cumulative[:, -1])
    rows = np.flatnonzero(modelled)[finite]
    clv[rows], expected[rows], valued[rows] = values[finite], cumulative[finite, -1], True
    cohort = summary.cohort_month
    clv[~valued] = _cohort_averages(clv, cohort, valued)[~valued]
    expected[~valued] = _cohort_averages(expected, cohort, valued)[~valued]
    params.update(
        bgnbd=bgnbd.as_json(),
        gamma_gamma=gamma_gamma.as_json(),
        modelled=int(valued.sum()),
        cohort=int(n - valued.sum()),
    )
    return ClvResult(
        customer_ids=summary.customer_ids,
        clv=clv,
        expected_purchases=expected,
        basis=np.where(valued, "model", "cohort"),
        params=params,
    )
