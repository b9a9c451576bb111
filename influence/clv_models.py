"""The two models behind customer lifetime value (docs/metrics.md "CLV", docs/scores.md
"Value: CLV, CRV, segments"), written with numpy/scipy, without the database:
- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") for the number
  of future purchases: while alive a customer buys at a Poisson rate (gamma(r, alpha)
  across customers) and after each purchase drops out with probability p (beta(a, b)).
- Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013) for the
  margin per purchase: each customer's purchases have a gamma(p, nu) value whose scale nu
  is gamma(q, v) across customers.

Time unit: the week. `frequency` = repeat purchase days (days with a purchase - 1),
`recency` = weeks from the first to the last purchase day, `T` = weeks from the first
purchase day to the as-of day, `monetary` = mean margin of the repeat purchase days.
A month is WEEKS_PER_MONTH weeks (an average calendar month).

`influence.clv` reads those from the database and values every customer with these fits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

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
