"""CLV: BG/NBD and Gamma-Gamma against the published CDNOW answers, then from the database."""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from customers.models import Customer, Purchase
from influence.clv import customer_clv, purchase_summary
from influence.clv_models import (
    WEEKS_PER_MONTH,
    BgNbdParams,
    GammaGammaParams,
    ModelFitError,
    clv_values,
    expected_margin,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    probability_alive,
)

CDNOW = Path(__file__).resolve().parent.parent / "fixtures" / "cdnow"
# Fader, Hardie & Lee (2005), table 1 / Fader & Hardie (2013): see tests/fixtures/cdnow/README.md.
PUBLISHED_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426, n=2357, log_likelihood=-9582.4)
PUBLISHED_GG = GammaGammaParams(p=6.25, q=3.74, v=15.44, n=946, log_likelihood=-4055.9)


def read_summary() -> dict[str, np.ndarray]:
    with (CDNOW / "cdnow_customers_summary_with_transactions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([float(row[key]) for row in rows]) for key in ("ID", "x", "t_x", "T", "zbar")}


def test_the_two_summaries_agree() -> None:
    with (CDNOW / "cdnow_customers_summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    summary = read_summary()
    assert [float(row["frequency"]) for row in rows] == list(summary["x"])
    assert [float(row["T"]) for row in rows] == list(summary["T"])


def test_bgnbd_fit_gives_the_published_cdnow_parameters() -> None:
    with (CDNOW / "cdnow_customers_summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    columns = [np.array([float(row[key]) for row in rows]) for key in ("frequency", "recency", "T")]

    fitted = fit_bgnbd(*columns)

    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted, name) == pytest.approx(getattr(PUBLISHED_BGNBD, name), rel=0.01), name
    assert fitted.n == 2357
    assert fitted.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_a_penalizer_shrinks_the_parameters() -> None:
    summary = read_summary()
    free = fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
    penalised = fit_bgnbd(summary["x"], summary["t_x"], summary["T"], penalizer=0.1)
    assert penalised.alpha < free.alpha and penalised.b < free.b


def test_gamma_gamma_fit_gives_the_published_cdnow_parameters() -> None:
    summary = read_summary()

    fitted = fit_gamma_gamma(summary["x"], summary["zbar"])

    assert fitted.n == 946  # customers with repeat purchases; the others are left out
    for name in ("p", "q", "v"):
        assert getattr(fitted, name) == pytest.approx(getattr(PUBLISHED_GG, name), rel=0.01), name
    assert fitted.log_likelihood == pytest.approx(-4055.9, abs=0.1)


def hyp2f1_series(a: float, b: float, c: float, z: float) -> float:
    """Gauss's series, summed until the terms vanish (|z| < 1 here)."""
    total, term, k = 1.0, 1.0, 0
    while abs(term) > 1e-16 * abs(total):
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        total += term
        k += 1
    return total


def test_conditional_expectation_is_fhl_equation_10() -> None:
    # FHL 2005's worked example: customer with x = 2, t_x = 30.43, T = 38.86 weeks, the
    # next 39 weeks, at the published parameters. Equation 10 as printed:
    #   (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
    #   / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    x, t_x, T, t = 2.0, 30.43, 38.86, 39.0
    z = t / (alpha + T + t)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1_series(r + x, b + x, a + b + x - 1, z)
    alive = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    by_hand = (a + b + x - 1) / (a - 1) * bracket * alive

    value = expected_purchases(PUBLISHED_BGNBD, t, [x], [t_x], [T])

    assert value[0] == pytest.approx(by_hand, rel=1e-10)
    assert value[0] == pytest.approx(1.226, abs=0.001)  # the number FHL 2005 print
    assert probability_alive(PUBLISHED_BGNBD, [x], [t_x], [T])[0] == pytest.approx(alive, rel=1e-12)


def test_conditional_expectation_edge_cases() -> None:
    params = PUBLISHED_BGNBD
    # No repeat purchase: alive for sure; nothing expected over no time.
    assert probability_alive(params, [0], [0], [10])[0] == 1.0
    assert expected_purchases(params, 0.0, [0, 3], [0, 5], [10, 10]) == pytest.approx([0.0, 0.0])
    # A frequent buyer who stopped long ago is almost surely gone (and nothing overflows).
    assert probability_alive(params, [500], [1], [300])[0] < 1e-12
    assert np.isfinite(expected_purchases(params, 52, [5000], [299], [300])).all()
    # Huge a and b (nobody seems to drop out) converge to a finite limit.
    sticky = BgNbdParams(r=0.7, alpha=5.6, a=0.26e7, b=1.0e7, n=1, log_likelihood=0)
    near = BgNbdParams(r=0.7, alpha=5.6, a=0.26e3, b=1.0e3, n=1, log_likelihood=0)
    far = expected_purchases(sticky, 52, [0, 3, 10], [0, 30, 40], [52, 52, 52])
    assert far == pytest.approx(expected_purchases(near, 52, [0, 3, 10], [0, 30, 40], [52, 52, 52]), rel=0.02)


def test_expected_margin_between_population_and_own_mean() -> None:
    params = PUBLISHED_GG
    population = params.p * params.v / (params.q - 1)  # 6.25 * 15.44 / 2.74 = 35.22
    # x = 0: the population mean; x = 4, m = 20: (15.44 + 80) * 6.25 / (25 + 2.74) = 21.51
    margins = expected_margin(params, [0, 4, 4], [0, 20, -5])
    assert margins[0] == pytest.approx(population)
    assert margins[1] == pytest.approx((15.44 + 4 * 20) * 6.25 / (6.25 * 4 + 3.74 - 1))
    assert margins[2] == pytest.approx(15.44 * 6.25 / (6.25 * 4 + 3.74 - 1))  # a negative mean counts 0
    with pytest.raises(ModelFitError):
        expected_margin(GammaGammaParams(p=1, q=0.9, v=1, n=1), [1], [1])


def test_clv_sums_discounted_monthly_increments() -> None:
    frequency, recency, T, monetary = [2.0, 0.0], [30.43, 0.0], [38.86, 38.86], [22.35, 0.0]
    margin = expected_margin(PUBLISHED_GG, frequency, monetary)
    by_loop = np.zeros(2)
    for month in range(1, 13):
        step = expected_purchases(PUBLISHED_BGNBD, month * WEEKS_PER_MONTH, frequency, recency, T)
        before = expected_purchases(PUBLISHED_BGNBD, (month - 1) * WEEKS_PER_MONTH, frequency, recency, T)
        by_loop += (step - before) * margin / 1.01**month

    values = clv_values(
        PUBLISHED_BGNBD,
        PUBLISHED_GG,
        frequency,
        recency,
        T,
        monetary,
        horizon_months=12,
        monthly_discount=0.01,
    )

    assert values == pytest.approx(by_loop, rel=1e-12)
    # Without discount the CLV is the purchases expected over 12 months times the margin.
    flat = clv_values(
        PUBLISHED_BGNBD, PUBLISHED_GG, frequency, recency, T, monetary, horizon_months=12, monthly_discount=0
    )
    twelve = expected_purchases(PUBLISHED_BGNBD, 12 * WEEKS_PER_MONTH, frequency, recency, T)
    assert flat == pytest.approx(twelve * margin)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        fit_bgnbd([1, 2], [5, 50], [10, 20])  # recency beyond T
    with pytest.raises(ValueError):
        fit_bgnbd([1], [1], [1, 2])
    with pytest.raises(ModelFitError):
        fit_bgnbd([], [], [])
    with pytest.raises(ModelFitError):
        fit_gamma_gamma([0, 0], [0, 0])


# --- from the database ----------------------------------------------------------------------


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def buy(customer: Customer, when: datetime, margin: str | None, amount: str = "100.00") -> Purchase:
    return Purchase.objects.create(
        customer=customer,
        external_id=f"o{Purchase.objects.count()}",
        amount=Decimal(amount),
        margin=None if margin is None else Decimal(margin),
        purchased_at=when,
    )


AS_OF = date(2024, 6, 30)


@pytest.fixture
def history(db: None, settings: Any) -> dict[str, Customer]:
    settings.SCORES_DEFAULT_MARGIN_RATE = 0.3
    old = at(date(2024, 1, 1))
    regular = Customer.objects.create(first_name="Regular", created_at=old)
    buy(regular, at(date(2024, 1, 10), 10), "10.00")
    buy(regular, at(date(2024, 1, 10), 15), "5.00")  # the same day: one purchase day of 15
    buy(regular, at(date(2024, 2, 10)), "20.00")
    buy(regular, at(date(2024, 3, 10)), None, amount="100.00")  # no margin: 100 * 0.3 = 30
    buy(regular, at(date(2024, 7, 1), 0, 30), "99.00")  # after as_of (UTC day)
    tombstone = Customer.objects.create(first_name="Merged", created_at=old, merged_into=regular)
    buy(tombstone, at(date(2024, 1, 5)), "40.00")
    browser = Customer.objects.create(first_name="Browser", created_at=at(date(2024, 2, 15)))
    newcomer = Customer.objects.create(first_name="New", created_at=at(date(2024, 6, 20)))
    buy(newcomer, at(date(2024, 6, 30), 23, 30), "8.00")  # last minute of the as-of UTC day
    Customer.objects.create(first_name="Later", created_at=at(date(2024, 7, 5)))
    return {"regular": regular, "browser": browser, "newcomer": newcomer}


def test_purchase_summary_counts_days_weeks_and_repeat_margin(history: dict[str, Customer]) -> None:
    summary = purchase_summary(as_of=AS_OF)

    regular, browser, newcomer = history["regular"], history["browser"], history["newcomer"]
    assert list(summary.customer_ids) == [regular.pk, browser.pk, newcomer.pk]  # no tombstone, no later
    i = 0
    assert summary.purchase_days[i] == 3 and summary.frequency[i] == 2
    assert summary.recency[i] == pytest.approx(60 / 7)  # 10 Jan -> 10 Mar 2024 (leap year)
    assert summary.T[i] == pytest.approx(172 / 7)  # 10 Jan -> 30 Jun
    assert summary.monetary[i] == pytest.approx((20 + 30) / 2)  # repeat days only
    assert summary.margin[i] == pytest.approx(15 + 20 + 30)
    assert (summary.frequency[1], summary.T[1], summary.monetary[1], summary.purchase_days[1]) == (0, 0, 0, 0)
    assert summary.purchase_days[2] == 1 and summary.T[2] == 0 and summary.margin[2] == 8
    assert [str(m) for m in summary.cohort_month.astype("datetime64[M]")] == ["2024-01", "2024-02", "2024-06"]


def test_purchase_summary_at_an_instant(history: dict[str, Customer]) -> None:
    summary = purchase_summary(as_of=at(date(2024, 2, 10), 11))  # before the 10 Feb purchase
    assert list(summary.purchase_days) == [1]  # regular; browser and newcomer not created yet
    with pytest.raises(ValueError):
        purchase_summary(as_of=datetime(2024, 2, 10))


def test_too_little_data_falls_back_to_the_historical_average(history: dict[str, Customer]) -> None:
    result = customer_clv(as_of=AS_OF, horizon_months=12)

    # Last 12 months' margin of live customers: 15 + 20 + 30 (regular) + 8 (newcomer) = 73,
    # over 3 live customers; purchase days 3 + 1 = 4 over 3.
    assert result.clv == pytest.approx([73 / 3] * 3)
    assert result.expected_purchases == pytest.approx([4 / 3] * 3)
    assert list(result.basis) == ["cohort"] * 3
    assert result.params["model"] == "historical-average"
    assert "customers with repeat purchases and enough history: 1," in result.params["fallback"]


def test_no_margin_to_model_falls_back(db: None) -> None:
    # Twelve repeat buyers, but every margin is 0: Gamma-Gamma has nothing to fit.
    for n in range(12):
        customer = Customer.objects.create(first_name=f"free{n}", created_at=at(date(2024, 1, 1)))
        buy(customer, at(date(2024, 1, 10)), "0.00")
        buy(customer, at(date(2024, 3, 10)), "0.00")

    result = customer_clv(as_of=AS_OF)

    assert result.params["model"] == "historical-average"
    assert "Gamma-Gamma" in result.params["fallback"]
    assert list(result.clv) == [0.0] * 12 and list(result.expected_purchases) == [2.0] * 12


def test_empty_database_gives_empty_arrays(db: None) -> None:
    result = customer_clv(as_of=AS_OF)
    assert len(result.customer_ids) == len(result.clv) == len(result.basis) == 0
    assert result.params["model"] == "historical-average"


def load_cdnow() -> dict[int, Customer]:
    """The CDNOW sample's purchases (margin = dollar value), one customer per sample id."""
    lines = [line.split() for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines()]
    rows = [(int(f[1]), date(int(f[2][:4]), int(f[2][4:6]), int(f[2][6:])), Decimal(f[4])) for f in lines]
    first: dict[int, date] = {}
    for sample_id, day, _value in rows:
        first[sample_id] = min(day, first.get(sample_id, day))
    customers = Customer.objects.bulk_create(
        [Customer(last_name=f"cdnow{sid}", created_at=at(day, 9)) for sid, day in sorted(first.items())]
    )
    by_sample = dict(zip(sorted(first), customers, strict=True))
    Purchase.objects.bulk_create(
        [
            Purchase(
                customer=by_sample[sid],
                external_id=f"cdnow{n}",
                amount=value,
                margin=value,
                purchased_at=at(day, 14),
            )
            for n, (sid, day, value) in enumerate(rows)
        ]
    )
    return by_sample


@pytest.mark.django_db
def test_cdnow_from_the_database_gives_the_published_answers() -> None:
    by_sample = load_cdnow()
    feb_browser = Customer.objects.create(last_name="browser", created_at=at(date(1997, 2, 3)))
    late = Customer.objects.create(last_name="late", created_at=at(date(1997, 9, 20)))
    buy(late, at(date(1997, 9, 20)), "30.00")
    buy(late, at(date(1997, 9, 25)), "30.00")  # 10 days of history < 30: not modelled

    calibration_end = date(1997, 9, 30)
    summary = purchase_summary(as_of=calibration_end)
    published = read_summary()
    rows = np.searchsorted(summary.customer_ids, [by_sample[int(i)].pk for i in published["ID"]])
    assert summary.frequency[rows] == pytest.approx(published["x"])
    assert summary.recency[rows] == pytest.approx(published["t_x"], abs=0.005)
    assert summary.T[rows] == pytest.approx(published["T"], abs=0.005)
    assert summary.monetary[rows] == pytest.approx(published["zbar"], abs=0.0051)  # zbar is rounded to cents

    result = customer_clv(as_of=calibration_end, horizon_months=12, monthly_discount=0.01)

    assert json.loads(json.dumps(result.params, allow_nan=False)) == result.params  # for ScoreRun.params
    bgnbd, gamma_gamma = result.params["bgnbd"], result.params["gamma_gamma"]
    for name in ("r", "alpha", "a", "b"):
        assert bgnbd[name] == pytest.approx(getattr(PUBLISHED_BGNBD, name), rel=0.01)
    for name in ("p", "q", "v"):
        assert gamma_gamma[name] == pytest.approx(getattr(PUBLISHED_GG, name), rel=0.01)
    assert (bgnbd["n"], gamma_gamma["n"], result.params["modelled"], result.params["cohort"]) == (
        2357,
        946,
        2357,
        2,
    )
    basis = dict(zip(result.customer_ids.tolist(), result.basis.tolist(), strict=True))
    clv = dict(zip(result.customer_ids.tolist(), result.clv.tolist(), strict=True))
    assert basis[feb_browser.pk] == basis[late.pk] == "cohort"
    assert basis[by_sample[1].pk] == "model"
    # Never bought, created in February 1997: the mean CLV of customers who first bought then.
    february = [c.pk for sid, c in by_sample.items() if c.created_at.month == 2]
    assert clv[feb_browser.pk] == pytest.approx(np.mean([clv[pk] for pk in february]))
    # First bought in September 1997, a cohort without modelled customers: the overall mean.
    assert clv[late.pk] == pytest.approx(np.mean([clv[c.pk] for c in by_sample.values()]))
    # Customer 1 of the sample (x = 2, t_x = 30.43, T = 38.86, zbar = 22.345), by the formulas.
    fitted_bgnbd = BgNbdParams(**bgnbd)
    fitted_gg = GammaGammaParams(**gamma_gamma)
    by_formula = clv_values(
        fitted_bgnbd, fitted_gg, [2], [213 / 7], [272 / 7], [22.345], horizon_months=12, monthly_discount=0.01
    )
    assert clv[by_sample[1].pk] == pytest.approx(by_formula[0], rel=1e-6)
    assert math.isfinite(sum(clv.values()))


def test_customers_too_young_are_not_modelled(db: None) -> None:
    load_cdnow()
    as_of = date(1997, 9, 30)
    everyone = customer_clv(as_of=as_of, min_history_days=0)
    strict = customer_clv(as_of=as_of, min_history_days=250)  # first purchase before 23 Jan 1997
    assert everyone.params["modelled"] == 2357
    assert 0 < strict.params["modelled"] < 2357
    assert strict.params["bgnbd"]["n"] == strict.params["modelled"]
    young = strict.basis == "cohort"
    assert (np.asarray(purchase_summary(as_of=as_of).T)[young] * 7 < 250).all()
