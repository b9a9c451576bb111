"""Comparing two NPS: |NPS1 - NPS2| / sqrt(SE1^2 + SE2^2) > 1.96 (docs/metrics.md), on sets
whose figures are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from influence.models import SurveyResponse
from influence.selectors import nps_compare
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

JULY = datetime(2026, 7, 1, tzinfo=UTC)
AUGUST = datetime(2026, 8, 1, tzinfo=UTC)
SEPTEMBER = datetime(2026, 9, 1, tzinfo=UTC)
COMPARE = "/api/v1/nps/compare/"


def answers(start: datetime, promoters: int, passives: int, detractors: int, **fields: object) -> None:
    """Anonymous answers (each counts) one minute apart from `start`."""
    scores = [10] * promoters + [8] * passives + [3] * detractors
    SurveyResponse.objects.bulk_create(
        SurveyResponse(kind="nps", score=score, answered_at=start + timedelta(minutes=i), **fields)
        for i, score in enumerate(scores)
    )


def test_a_large_gap_on_enough_answers_is_significant() -> None:
    # July: 40 promoters, 10 passives, 10 detractors (n = 60): p = 2/3, d = 1/6, NPS = 50,
    #   SE = 100 sqrt((5/6 - 1/4) / 60) = 100 sqrt(0.0097222) = 9.8601
    # August: 15, 15, 30 (n = 60): p = 1/4, d = 1/2, NPS = -25,
    #   SE = 100 sqrt((3/4 - 1/16) / 60) = 100 sqrt(0.0114583) = 10.7044
    # z = 75 / sqrt(9.8601^2 + 10.7044^2) = 75 / 14.5535 = 5.1534 > 1.96
    answers(JULY, 40, 10, 10)
    answers(AUGUST, 15, 15, 30)

    found = nps_compare({"since": JULY, "until": AUGUST}, {"since": AUGUST, "until": SEPTEMBER})

    assert (found.first.nps, found.second.nps) == (pytest.approx(50), pytest.approx(-25))
    assert found.first.se == pytest.approx(9.8601, abs=1e-4)
    assert found.second.se == pytest.approx(10.7044, abs=1e-4)
    assert found.difference == pytest.approx(75)
    assert found.z == pytest.approx(5.1534, abs=1e-4)
    assert found.significant is True


def test_a_gap_on_few_answers_is_not() -> None:
    # Email: 6 promoters, 2 passives, 2 detractors (n = 10): NPS = 40,
    #   SE = 100 sqrt((0.8 - 0.16) / 10) = 100 sqrt(0.064) = 25.2982
    # SMS: 5, 2, 3 (n = 10): NPS = 20, SE = 100 sqrt((0.8 - 0.04) / 10) = 100 sqrt(0.076) = 27.5681
    # z = 20 / sqrt(640 + 760) = 20 / 37.4166 = 0.5345 < 1.96: twenty points apart, not a difference
    answers(JULY, 6, 2, 2, channel="email")
    answers(JULY, 5, 2, 3, channel="sms")

    found = nps_compare({"channel": "email"}, {"channel": "sms"})

    assert found.difference == pytest.approx(20)
    assert found.z == pytest.approx(0.5345, abs=1e-4)
    assert found.significant is False


def test_sides_by_segment_count_each_customers_latest_answer() -> None:
    # Two champions answered twice: only their latest (10, 10) counts -> NPS 100, SE 0.
    # Two misers, latest 0 and 0 -> NPS -100, SE 0. Both SE are 0: z is undefined (null),
    # yet 100 and -100 differ.
    champions = CustomerFactory.create_batch(2, segment="champions")
    misers = CustomerFactory.create_batch(2, segment="misers")
    for customer, first, latest in [(c, 0, 10) for c in champions] + [(c, 10, 0) for c in misers]:
        SurveyResponse.objects.create(customer=customer, kind="nps", score=first, answered_at=JULY)
        SurveyResponse.objects.create(customer=customer, kind="nps", score=latest, answered_at=AUGUST)

    found = nps_compare({"segment": "champions"}, {"segment": "misers"})

    assert (found.first.n, found.first.nps, found.second.nps) == (2, 100, -100)
    assert found.difference == 200 and found.z is None and found.significant is True


def test_an_empty_side_compares_to_nothing() -> None:
    answers(JULY, 5, 0, 0)
    found = nps_compare({"since": JULY}, {"channel": "nowhere"})
    assert found.second.n == 0
    assert (found.difference, found.z, found.significant) == (None, None, False)


def test_the_api_answers_both_sides(partner) -> None:
    answers(JULY, 40, 10, 10)
    answers(AUGUST, 15, 15, 30)
    client = partner("scores:read")

    july = {"a_since": "2026-07-01T00:00:00Z", "a_until": "2026-08-01T00:00:00Z"}
    answer = client.get(COMPARE, {**july, "b_since": "2026-08-01T00:00:00Z"})

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["a"]["nps"] == 50 and body["a"]["n"] == 60 and body["a"]["se"] == 9.86
    assert body["b"]["nps"] == -25 and body["b"]["detractors"] == 30 and body["b"]["se"] == 10.7
    assert (body["difference"], body["z"], body["significant"]) == (75, 5.15, True)


def test_the_api_refuses_bad_filters_and_wrong_keys(partner) -> None:
    refused = partner("scores:read").get(COMPARE, {"a_since": "last week"})
    assert refused.status_code == 400 and "a_since" in refused.json()["errors"]
    assert APIClient().get(COMPARE).status_code == 401
    assert partner("surveys:write").get(COMPARE).status_code == 403


def test_the_comparison_is_in_the_schema(admin_user, client) -> None:
    client.force_login(admin_user)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/nps/compare/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"a_since", "b_until", "a_segment", "b_channel"}
