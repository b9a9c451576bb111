"""NPS and CSAT as docs/metrics.md defines them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from influence.models import SurveyResponse
from influence.selectors import csat_summary, nps_differ, nps_from_counts, nps_summary
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def answers(kind: str, scores: list[int], **fields: object) -> None:
    SurveyResponse.objects.bulk_create(
        SurveyResponse(kind=kind, score=score, answered_at=T0 + timedelta(minutes=i), **fields)
        for i, score in enumerate(scores)
    )


def test_nps_and_its_interval_on_a_known_set() -> None:
    answers("nps", [10] * 25 + [9] * 25 + [8] * 15 + [7] * 15 + [6] * 10 + [0] * 10)

    summary = nps_summary()

    assert (summary.n, summary.promoters, summary.passives, summary.detractors) == (100, 50, 30, 20)
    assert summary.nps == pytest.approx(30)
    # p = 0.5, d = 0.2: SE = 100 * sqrt((0.7 - 0.09) / 100) = 7.8102...
    se = 100 * math.sqrt((0.5 + 0.2 - (0.5 - 0.2) ** 2) / 100)
    assert summary.se == pytest.approx(se) == pytest.approx(7.8102, abs=1e-4)
    assert summary.ci_low == pytest.approx(30 - 1.96 * se) == pytest.approx(14.692, abs=1e-3)
    assert summary.ci_high == pytest.approx(30 + 1.96 * se) == pytest.approx(45.308, abs=1e-3)
    assert summary.indicative is False


def test_interval_is_clipped_and_small_samples_are_indicative() -> None:
    high = nps_from_counts(promoters=28, passives=0, detractors=1)
    assert high.nps == pytest.approx(100 * 27 / 29)
    assert high.ci_high == 100 and high.ci_low is not None and high.ci_low < high.nps
    assert high.indicative is True
    perfect = nps_from_counts(promoters=5, passives=0, detractors=0)
    assert (perfect.nps, perfect.se, perfect.ci_low, perfect.ci_high) == (100, 0, 100, 100)
    empty = nps_from_counts(0, 0, 0)
    assert empty.nps is None and empty.n == 0


def test_two_scores_differ_beyond_the_noise() -> None:
    first = nps_from_counts(50, 30, 20)  # 30 +/- 15.3
    assert nps_differ(first, nps_from_counts(20, 30, 50)) is True  # -30
    assert nps_differ(first, nps_from_counts(45, 30, 25)) is False  # 20


def test_only_each_customers_latest_answer_counts_unless_all() -> None:
    fickle, loyal = CustomerFactory(), CustomerFactory()
    SurveyResponse.objects.create(kind="nps", score=0, customer=fickle, answered_at=T0)
    SurveyResponse.objects.create(kind="nps", score=10, customer=fickle, answered_at=T0 + timedelta(days=1))
    SurveyResponse.objects.create(kind="nps", score=9, customer=loyal, answered_at=T0)
    SurveyResponse.objects.create(kind="nps", score=3, answered_at=T0)  # anonymous: counts

    latest = nps_summary()
    assert (latest.n, latest.promoters, latest.detractors) == (3, 2, 1)
    every = nps_summary(all_answers=True)
    assert (every.n, every.promoters, every.detractors) == (4, 2, 2)
    # within a period that ends before the second answer, the first one is the latest
    early = nps_summary(until=T0 + timedelta(hours=1))
    assert (early.n, early.promoters, early.detractors) == (3, 1, 2)


def test_filters_by_segment_and_channel() -> None:
    champion = CustomerFactory(segment="champions")
    SurveyResponse.objects.create(kind="nps", score=10, customer=champion, channel="email", answered_at=T0)
    SurveyResponse.objects.create(
        kind="nps", score=2, customer=CustomerFactory(), channel="sms", answered_at=T0
    )
    assert nps_summary(segment="champions").nps == 100
    assert nps_summary(channel="sms").nps == -100
    assert nps_summary(since=T0 + timedelta(seconds=1)).n == 0


def test_csat_is_the_share_of_satisfied_answers() -> None:
    answers("csat", [5, 4, 4, 3, 1])
    summary = csat_summary()
    assert (summary.n, summary.satisfied, summary.csat) == (5, 3, 60)
