"""CRV on a small referral history worked out by hand, and the CLV x CRV segments."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from customers.models import Customer
from influence.crv import annuity_factor, assign_segments, customer_crv, referral_values
from influence.models import Referral, Segment

AS_OF = date(2024, 6, 30)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def refer(
    referrer: Customer,
    referred: Customer,
    kind: str,
    referred_at: datetime,
    converted_at: datetime | None = None,
    reward: str = "10.00",
) -> Referral:
    return Referral.objects.create(
        referrer=referrer,
        referred=referred,
        type=kind,
        referred_at=referred_at,
        converted_at=converted_at,
        reward_amount=Decimal(reward) if converted_at else Decimal(0),
    )


@pytest.fixture
def people(db: None, settings: Any) -> dict[str, Customer]:
    settings.REFERRAL_ACQUISITION_COST = 30.0
    settings.SCORES_MONTHLY_DISCOUNT = 0.01
    names = ["alice", "bob", "carol", "dan", "eve", "frank", "gina", "hank", "ivy"]
    people = {name: Customer.objects.create(first_name=name) for name in names}
    people["old_bob"] = Customer.objects.create(first_name="old bob", merged_into=people["bob"])
    return people


@pytest.fixture
def history(people: dict[str, Customer]) -> dict[str, Referral]:
    p = people
    return {
        # Converted 20 Jan: 162 days before 30 Jun -> 162 / 30.4375 = 5.3 -> month 5.
        "r1": refer(p["alice"], p["carol"], "1", at(2024, 1, 5), at(2024, 1, 20)),
        # Converted 15 Jun: 15 days -> month 0.
        "r2": refer(p["alice"], p["dan"], "2", at(2024, 6, 1), at(2024, 6, 15)),
        # Not converted (yet).
        "r3": refer(p["alice"], p["eve"], "1", at(2024, 6, 20)),
        # Made and converted more than 12 months ago (10 Mar 2023: 478 days -> month 15).
        "r4": refer(p["bob"], p["frank"], "1", at(2023, 3, 1), at(2023, 3, 10)),
        # Made by Bob's merged record, no reward; converted 10 May: 51 days -> month 1.
        "r5": refer(p["old_bob"], p["hank"], "2", at(2024, 5, 1), at(2024, 5, 10), reward="0"),
        # After as_of: ignored.
        "r6": refer(p["gina"], p["ivy"], "1", at(2024, 7, 2), at(2024, 7, 3)),
    }


def clv_of(people: dict[str, Customer]) -> dict[int, float]:
    values = {"alice": 100, "bob": 50, "carol": 200, "dan": 80, "eve": 0, "frank": 25, "gina": 300}
    values |= {"hank": 5, "ivy": 40}
    return {people[name].pk: float(value) for name, value in values.items()}


def test_referral_values_by_hand(people: dict[str, Customer], history: dict[str, Referral]) -> None:
    values = referral_values(as_of=AS_OF, clv_by_customer=clv_of(people))

    by_id = {int(pk): i for i, pk in enumerate(values.referral_ids)}
    assert history["r6"].pk not in by_id
    r1, r2, r3, r4, r5 = (by_id[history[k].pk] for k in ("r1", "r2", "r3", "r4", "r5"))
    # Type 1: Carol's CLV 200 - reward 10 = 190, discounted 5 months: 190 / 1.01^5 = 180.778
    assert values.value[r1] == pytest.approx(190) and values.months_ago[r1] == 5
    assert values.discounted[r1] == pytest.approx(190 / 1.01**5)
    # Type 2: acquisition cost saved 30 - reward 10 = 20 (Dan's CLV of 80 does not count), month 0.
    assert values.value[r2] == pytest.approx(20) and values.discounted[r2] == pytest.approx(20)
    assert not values.converted[r3] and math.isnan(values.value[r3]) and values.months_ago[r3] == -1
    # Frank's CLV 25 - 10 = 15, 15 months ago.
    assert values.value[r4] == pytest.approx(15) and values.months_ago[r4] == 15
    # Old Bob's referral counts for Bob; 30 - 0 = 30, 1 month: 29.703.
    assert values.referrer_ids[r5] == people["bob"].pk
    assert values.discounted[r5] == pytest.approx(30 / 1.01)


def test_customer_crv_by_hand(people: dict[str, Customer], history: dict[str, Referral]) -> None:
    clv = clv_of(people)

    result = customer_crv(as_of=AS_OF, clv_by_customer=clv, window_months=12, horizon_months=12)

    # Window: the last 12 months (365.25 days). Made in it: r1, r2, r3 (Alice), r5 (Bob) = 4;
    # of those converted: r1, r2, r5 -> conversion rate 3 / 4.
    # Mean net value of the referrals converted in the window: (190 + 20 + 30) / 3 = 80.
    # Annuity, 12 months at 1 %: (1 - 1.01^-12) / 0.01 = 11.2551.
    annuity = (1 - 1.01**-12) / 0.01
    assert annuity_factor(12, 0.01) == pytest.approx(annuity)
    assert json.loads(json.dumps(result.params, allow_nan=False)) == result.params
    assert result.params["conversion_rate"] == pytest.approx(0.75)
    assert result.params["mean_referral_value"] == pytest.approx(80)
    assert list(result.customer_ids) == list(clv)  # the order of clv_by_customer
    row = {int(c): i for i, c in enumerate(result.customer_ids)}
    alice, bob, gina = row[people["alice"].pk], row[people["bob"].pk], row[people["gina"].pk]
    # Alice: realised 190 / 1.01^5 + 20 = 200.778; expected 3/12 per month * 0.75 * 80 * 11.2551
    # = 15 * 11.2551 = 168.826; CRV 369.604.
    assert result.realised[alice] == pytest.approx(190 / 1.01**5 + 20)
    assert result.expected[alice] == pytest.approx(3 / 12 * 0.75 * 80 * annuity)
    assert result.crv[alice] == pytest.approx(369.604, abs=0.001)
    assert (result.referrals[alice], result.converted[alice]) == (3, 2)
    # Bob: realised 30 / 1.01 = 29.703 (r4 is outside the window); expected 1/12 * 0.75 * 80
    # * 11.2551 = 56.275; CRV 85.978.
    assert result.realised[bob] == pytest.approx(30 / 1.01)
    assert result.expected[bob] == pytest.approx(5 * annuity)
    assert (result.referrals[bob], result.converted[bob]) == (1, 1)
    # Gina's only referral is after as_of.
    assert (result.crv[gina], result.referrals[gina]) == (0, 0)
    # Referral.value: the net value of every converted referral, undiscounted.
    assert result.referral_value_by_id == pytest.approx(
        {history["r1"].pk: 190, history["r2"].pk: 20, history["r4"].pk: 15, history["r5"].pk: 30}
    )


def test_crv_without_referrals(db: None) -> None:
    alone = Customer.objects.create(first_name="alone")
    result = customer_crv(as_of=AS_OF, clv_by_customer={alone.pk: 12.0})
    assert list(result.crv) == [0.0] and result.referral_value_by_id == {}
    empty = customer_crv(as_of=AS_OF, clv_by_customer={})
    assert len(empty.crv) == 0 and empty.params["conversion_rate"] == 0.0


# --- segments -------------------------------------------------------------------------------


def test_segments_at_the_median_ties_are_low(settings: Any) -> None:
    settings.SCORES_SEGMENT_CLV_THRESHOLD = None
    settings.SCORES_SEGMENT_CRV_THRESHOLD = None
    clv = [1.0, 2.0, 2.0, 3.0, 9.0]  # median 2: only 3 and 9 are high
    crv = [5.0, 0.0, 7.0, 0.0, 1.0]  # median 1: 5 and 7 are high

    labels, thresholds = assign_segments(clv, crv)

    assert thresholds == {"clv_threshold": 2.0, "crv_threshold": 1.0}
    assert list(labels) == [
        Segment.ADVOCATES,
        Segment.MISERS,
        Segment.ADVOCATES,
        Segment.AFFLUENTS,
        Segment.AFFLUENTS,  # CRV 1 is the median itself: low
    ]


def test_segments_with_zero_median_crv(settings: Any) -> None:
    settings.SCORES_SEGMENT_CLV_THRESHOLD = None
    settings.SCORES_SEGMENT_CRV_THRESHOLD = None
    labels, thresholds = assign_segments([10, 20, 30, 40], [0, 0, 0.5, 0])
    assert thresholds["crv_threshold"] == 0.0
    assert list(labels) == [Segment.MISERS, Segment.MISERS, Segment.CHAMPIONS, Segment.AFFLUENTS]
    # All zero: nobody is high on CRV.
    labels, _ = assign_segments([10, 20, 30, 40], [0, 0, 0, 0])
    assert set(labels) == {Segment.MISERS, Segment.AFFLUENTS}


def test_segment_thresholds_from_settings_and_arguments(settings: Any) -> None:
    settings.SCORES_SEGMENT_CLV_THRESHOLD = 15.0
    settings.SCORES_SEGMENT_CRV_THRESHOLD = None
    labels, thresholds = assign_segments([10, 20, 30], [0, 1, 2])
    assert thresholds == {"clv_threshold": 15.0, "crv_threshold": 1.0}  # CRV: the median
    assert list(labels) == [Segment.MISERS, Segment.AFFLUENTS, Segment.CHAMPIONS]
    # An argument beats the setting.
    labels, thresholds = assign_segments([10, 20, 30], [0, 1, 2], clv_threshold=25.0, crv_threshold=-1.0)
    assert thresholds == {"clv_threshold": 25.0, "crv_threshold": -1.0}
    assert list(labels) == [Segment.ADVOCATES, Segment.ADVOCATES, Segment.CHAMPIONS]


def test_segments_missing_values_and_empty(settings: Any) -> None:
    settings.SCORES_SEGMENT_CLV_THRESHOLD = None
    settings.SCORES_SEGMENT_CRV_THRESHOLD = None
    labels, thresholds = assign_segments([np.nan, 1.0, 3.0], [1.0, 1.0, 1.0])
    assert thresholds["clv_threshold"] == 2.0  # median of the known values
    assert list(labels) == [Segment.MISERS, Segment.MISERS, Segment.AFFLUENTS]
    labels, thresholds = assign_segments([], [])
    assert len(labels) == 0 and thresholds == {"clv_threshold": 0.0, "crv_threshold": 0.0}
    with pytest.raises(ValueError):
        assign_segments([1.0], [1.0, 2.0])
