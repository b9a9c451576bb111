"""Customer lifetime value (docs/metrics.md "CLV", docs/scores.md "Value: CLV, CRV, segments").

Two models, written with numpy/scipy:
- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") for the number
  of future purchases: while alive a customer buys at a Poisson rate (gamma(r, alpha)
  across customers) and after each purchase drops out with probability p (beta(a, b)).
- Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013) for the
  margin per purchase: each customer's purchases have a gamma(p, nu) value whose scale nu
  is gamma(q, v) across customers.

Time unit: the week. `frequency` = repeat purchase days (days with a purchase - 1),
`recency` = weeks from the first to the last purchase day, `T` = weeks from the first
purchase day to the as-of day, `monetary` = mean margin of the repeat purchase days.
A month is WEEKS_PER_MONTH weeks (an average calendar month). Days are UTC calendar days.

`purchase_summary` reads those from the database in one query; `customer_clv` fits both
models on the customers with enough history and gives the others their cohort's average.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

from customers.models import Customer, Purchase
from scrm.arrays import fetch_columns

FloatArray = NDArray[np.float64]

DAYS_PER_MONTH = 365.25 / 12
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7


class ModelFitError(ValueError):
    """The data cannot be fitted (too few customers, or the optimiser found no optimum)."""


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float
    n: int  # customers in the fit
    log_likelihood: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float
    n: int  # customers in the fit (repeat purchases with a positive mean margin)
    log_likelihood: float = float("nan")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _floats(*arrays: ArrayLike) -> list[FloatArray]:
    out = [np.asarray(array, dtype=np.float64).ravel() for array in arrays]
    if len({len(array) for array in out}) > 1:
        raise ValueError("arrays of different lengths")
    return out


def _compress(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Unique rows and how many customers share each: the likelihood only depends on them,
    and real data has many (one-off buyers of the same day)."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(np.float64)


def _minimise(objective: Any, start: FloatArray, what: str) -> FloatArray:
    """Minimise over log-parameters (so they stay positive), BFGS with the exact gradient."""
    with np.errstate(all="ignore"):  # trial steps may overflow; a non-finite end is refused below
        result = minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise ModelFitError(f"{what}: the optimiser found no finite optimum ({result.message})")
    return np.asarray(result.x, dtype=np.float64)


# --- BG/NBD -------------------------------------------------------------------------------


def _by_frequency(x: FloatArray, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The distinct frequencies and the weight of each: the gamma-function terms depend on x
    alone, so they are computed once per distinct x (a few hundred) instead of per row."""
    distinct, inverse = np.unique(x, return_inverse=True)
    return distinct, np.bincount(inverse, weights=weights).astype(np.float64)


def _bgnbd_log_likelihood(
    theta: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    weights: FloatArray,
    by_x: tuple[FloatArray, FloatArray],
) -> tuple[float, FloatArray]:
    """Sum of the individual log-likelihoods (FHL 2005, eq. 6) and its gradient with respect
    to log(r, alpha, a, b)."""
    r, alpha, a, b = np.exp(theta)
    xs, wx = by_x
    # Terms of x alone (eq. 6's A1 and A2), weighted by how many rows share each x.
    head = (
        gammaln(r + xs)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + xs)
        - gammaln(b)
        - gammaln(a + b + xs)
    )
    head_r = digamma(r + xs) - digamma(r) + np.log(alpha)
    head_a = digamma(a + b) - digamma(a + b + xs)
    head_b = head_a + digamma(b + xs) - digamma(b)
    # Per row: still alive at T (A3) or dropped out after the last purchase (A4, x > 0).
    repeat = x > 0
    log_t = np.log(alpha + T)
    log_tx = np.log(alpha + t_x)
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    a3 = -(r + x) * log_t
    a4 = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x) * log_tx, -np.inf)
    tail = np.logaddexp(a3, a4)
    share4 = np.exp(a4 - tail)
    share3 = 1.0 - share4
    value = float(wx @ head + weights @ tail)
    gradient = np.array(
        [
            wx @ head_r - weights @ (share3 * log_t + share4 * log_tx),
            wx.sum() * r / alpha - weights @ ((r + x) * (share3 / (alpha + T) + share4 / (alpha + t_x))),
            wx @ head_a + weights @ share4 / a,
            wx @ head_b - weights @ (share4 / b_x1),
        ]
    )
    return value, gradient * np.array([r, alpha, a, b])


def fit_bgnbd(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, penalizer: float = 0.0
) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters. `penalizer` adds penalizer * sum(param^2) to
    the mean negative log-likelihood (as lifetimes does), which keeps small samples sane."""
    x, t_x, age = _floats(frequency, recency, T)
    if len(x) == 0:
        raise ModelFitError("BG/NBD: no customers")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age + 1e-9) or np.any((x == 0) & (t_x != 0)):
        raise ValueError("BG/NBD needs frequency >= 0 and 0 <= recency <= T (recency 0 without repeats)")
    (x, t_x, age), weights = _compress(x, t_x, age)
    n = float(weights.sum())
    by_x = _by_frequency(x, weights)

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        value, gradient = _bgnbd_log_likelihood(theta, x, t_x, age, weights, by_x)
        params = np.exp(theta)
        return (
            -value / n + penalizer * float((params**2).sum()),
            -gradient / n + 2 * penalizer * params**2,
        )

    theta = _minimise(objective, np.zeros(4), "BG/NBD")
    log_likelihood, _gradient = _bgnbd_log_likelihood(theta, x, t_x, age, weights, by_x)
    r, alpha, a, b = (float(value) for value in np.exp(theta))
    return BgNbdParams(r=r, alpha=alpha, a=a, b=b, n=int(n), log_likelihood=log_likelihood)


def probability_alive(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """P(still a customer at T | x, t_x, T) (FHL 2005, note on P(alive)): 1 without repeat
    purchases, else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))."""
    x, t_x, age = _floats(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    # In logs: the ratio to the power r + x overflows for frequent buyers who stopped.
    log_odds_dead = (
        np.log(a)
        - np.log(np.where(repeat, b + x - 1, 1.0))
        + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    return np.where(repeat, expit(-log_odds_dead), 1.0)


def expected_purchases(
    params: BgNbdParams, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[purchases in the next t weeks | x, t_x, T] (FHL 2005, eq. 10). `t` is a scalar or
    an array that broadcasts against the customers (e.g. shape (n, 1) against (n, k) steps).

    Eq. 10's 2F1(r+x, b+x; a+b+x-1; z) times ((alpha+T)/(alpha+T+t))^(r+x) is rewritten with
    Euler's transformation as (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), z = t/(alpha+T+t):
    the same number, without the huge intermediate values frequent buyers would give."""
    x, t_x, age = _floats(frequency, recency, T)
    horizon = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < 1e-9:  # the formula's a - 1 denominator: step off the removable point
        a = 1.0 + 1e-9
    if horizon.ndim == 2:
        x, t_x, age = x[:, None], t_x[:, None], age[:, None]
    z = horizon / (alpha + age + horizon)
    c = a + b + x - 1
    with np.errstate(all="ignore"):
        bracket = 1.0 - (1.0 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        # With a and b huge (nobody seems to drop out) the rewritten form's two factors
        # over- and underflow; eq. 10 as printed stays finite there.
        direct = 1.0 - (1.0 - z) ** (r + x) * hyp2f1(r + x, b + x, c, z)
    bracket = np.where(np.isfinite(bracket), bracket, direct)
    alive = probability_alive(params, np.ravel(x), np.ravel(t_x), np.ravel(age)).reshape(np.shape(x))
    return np.asarray(c / (a - 1) * bracket * alive, dtype=np.float64)


# --- Gamma-Gamma --------------------------------------------------------------------------


def _gamma_gamma_log_likelihood(
    theta: FloatArray,
    x: FloatArray,
    m: FloatArray,
    weights: FloatArray,
    by_x: tuple[FloatArray, FloatArray],
) -> tuple[float, FloatArray]:
    """Sum of the individual log-likelihoods of the mean margins m_x (Fader & Hardie 2013,
    eq. 4, with the x^(px) and m^(px-1) terms kept, so the value is the published one)."""
    p, q, v = np.exp(theta)
    xs, wx = by_x
    head = gammaln(p * xs + q) - gammaln(p * xs) - gammaln(q) + q * np.log(v)
    head_p = xs * (digamma(p * xs + q) - digamma(p * xs))
    head_q = digamma(p * xs + q) - digamma(q) + np.log(v)
    px = p * x
    log_m, log_x, log_total = np.log(m), np.log(x), np.log(x * m + v)
    value = float(wx @ head + weights @ ((px - 1) * log_m + px * log_x - (px + q) * log_total))
    gradient = np.array(
        [
            wx @ head_p + weights @ (x * (log_m + log_x - log_total)),
            wx @ head_q - weights @ log_total,
            wx.sum() * q / v - weights @ ((px + q) / (x * m + v)),
        ]
    )
    return value, gradient * np.array([p, q, v])


def fit_gamma_gamma(frequency: ArrayLike, monetary: ArrayLike, *, penalizer: float = 0.0) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters, fitted on the customers with repeat
    purchases and a positive mean margin (the others say nothing about spend per purchase)."""
    x, m = _floats(frequency, monetary)
    keep = (x > 0) & (m > 0)
    if not keep.any():
        raise ModelFitError("Gamma-Gamma: no customer with repeat purchases and a positive margin")
    (x, m), weights = _compress(x[keep], m[keep])
    n = float(weights.sum())
    by_x = _by_frequency(x, weights)
    # Start from the method of moments' order of magnitude: v/(q-1) * p ~ mean margin.
    start = np.log(np.array([1.0, 2.0, max(float(np.average(m, weights=weights)), 1e-6)]))

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        value, gradient = _gamma_gamma_log_likelihood(theta, x, m, weights, by_x)
        params = np.exp(theta)
        return (
            -value / n + penalizer * float((params**2).sum()),
            -gradient / n + 2 * penalizer * params**2,
        )

    theta = _minimise(objective, start, "Gamma-Gamma")
    log_likelihood, _gradient = _gamma_gamma_log_likelihood(theta, x, m, weights, by_x)
    p, q, v = (float(value) for value in np.exp(theta))
    return GammaGammaParams(p=p, q=q, v=v, n=int(n), log_likelihood=log_likelihood)


def expected_margin(params: GammaGammaParams, frequency: ArrayLike, monetary: ArrayLike) -> FloatArray:
    """E[margin per purchase | x, m_x] = (v + x m_x) p / (p x + q - 1): the posterior mean,
    between the population mean p v / (q - 1) (no repeat purchase) and the customer's own
    mean. A negative observed mean counts as 0. Needs q > 1 (else the mean is infinite)."""
    if params.q <= 1:
        raise ModelFitError("Gamma-Gamma: q <= 1, the expected margin is not finite")
    x, m = _floats(frequency, monetary)
    m = np.where(x > 0, np.maximum(m, 0.0), 0.0)
    return (params.v + x * m) * params.p / (params.p * x + params.q - 1)


# --- CLV ----------------------------------------------------------------------------------


def cumulative_expected_purchases(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, horizon_months: int
) -> FloatArray:
    """Matrix (customers x horizon + 1): expected purchases by the end of month 0..horizon."""
    months = np.arange(horizon_months + 1, dtype=np.float64)
    x = _floats(frequency)[0]
    if len(x) == 0:
        return np.zeros((0, horizon_months + 1))
    steps = np.broadcast_to(months * WEEKS_PER_MONTH, (len(x), horizon_months + 1))
    return expected_purchases(params, steps, frequency, recency, T)


def discounted_value(
    cumulative_purchases: FloatArray, margin: ArrayLike, *, monthly_discount: float
) -> FloatArray:
    """sum over m = 1..horizon of (E[by m] - E[by m-1]) * margin / (1 + discount)^m."""
    per_month = np.diff(cumulative_purchases, axis=1)
    months = np.arange(1, per_month.shape[1] + 1, dtype=np.float64)
    factors = (1.0 + monthly_discount) ** -months
    return np.asarray(per_month @ factors * np.asarray(margin, dtype=np.float64), dtype=np.float64)


def clv_values(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    *,
    horizon_months: int,
    monthly_discount: float,
) -> FloatArray:
    """CLV over `horizon_months` months: sum over m = 1..horizon of (E[purchases by month m]
    - E[by month m - 1]) * expected margin / (1 + monthly_discount)^m, months of
    WEEKS_PER_MONTH weeks (lifetimes' customer_lifetime_value, with freq="W")."""
    cumulative = cumulative_expected_purchases(bgnbd, frequency, recency, T, horizon_months=horizon_months)
    margin = expected_margin(gamma_gamma, frequency, monetary)
    return discounted_value(cumulative, margin, monthly_discount=monthly_discount)


# --- from the database --------------------------------------------------------------------

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
