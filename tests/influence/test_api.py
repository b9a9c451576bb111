"""Scores and surveys endpoints of the partner API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from influence.models import SurveyResponse
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

RESPONSES = "/api/v1/surveys/responses/"


def test_record_an_answer(partner) -> None:
    customer = CustomerFactory()
    body = {
        "customer": customer.pk,
        "kind": "nps",
        "score": 9,
        "comment": "Great",
        "channel": "email",
        "answered_at": "2026-10-01T10:00:00Z",
    }
    created = partner("surveys:write").post(RESPONSES, body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert {k: data[k] for k in ("customer", "kind", "score", "comment", "channel")} == {
        "customer": customer.pk,
        "kind": "nps",
        "score": 9,
        "comment": "Great",
        "channel": "email",
    }
    assert datetime.fromisoformat(data["answered_at"]) == datetime(2026, 10, 1, 10, tzinfo=UTC)
    assert SurveyResponse.objects.get().source == "api"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "nps", "score": 11}, "score"),
        ({"kind": "csat", "score": 0}, "score"),
        ({"kind": "csat", "score": "many"}, "score"),
        ({"kind": "ces", "score": 3}, "kind"),
        ({"kind": "nps", "score": 5, "customer": 999999}, "customer"),
        ({"score": 5}, "kind"),
    ],
)
def test_bad_answers_get_field_errors(partner, body: dict, field: str) -> None:
    refused = partner("surveys:write").post(RESPONSES, body, format="json")
    assert refused.status_code == 400
    assert field in refused.json()["errors"]
    assert not SurveyResponse.objects.exists()


def test_scopes_and_authentication(partner) -> None:
    body = {"kind": "nps", "score": 9}
    assert APIClient().post(RESPONSES, body, format="json").status_code == 401
    assert partner("scores:read").post(RESPONSES, body, format="json").status_code == 403
    assert APIClient().get("/api/v1/nps/").status_code == 401
    assert partner("surveys:write").get("/api/v1/nps/").status_code == 403
    assert partner("customers:read").get("/api/v1/csat/").status_code == 403


def test_a_retry_with_the_same_key_is_replayed(partner) -> None:
    client = partner("surveys:write")
    body = {"kind": "csat", "score": 5}
    first = client.post(RESPONSES, body, format="json", headers={"Idempotency-Key": "answer-1"})
    again = client.post(RESPONSES, body, format="json", headers={"Idempotency-Key": "answer-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert SurveyResponse.objects.count() == 1
    other = client.post(
        RESPONSES, {"kind": "csat", "score": 1}, format="json", headers={"Idempotency-Key": "answer-1"}
    )
    assert other.status_code == 409


def test_nps_endpoint(partner) -> None:
    SurveyResponse.objects.bulk_create(
        [SurveyResponse(kind="nps", score=10) for _ in range(50)]
        + [SurveyResponse(kind="nps", score=7) for _ in range(30)]
        + [SurveyResponse(kind="nps", score=2, channel="sms") for _ in range(20)]
    )
    body = partner("scores:read").get("/api/v1/nps/").json()
    assert body == {
        "nps": 30.0,
        "n": 100,
        "promoters": 50,
        "passives": 30,
        "detractors": 20,
        "se": 7.81,
        "ci_low": 14.69,
        "ci_high": 45.31,
        "indicative": False,
    }
    sms = partner("scores:read").get("/api/v1/nps/", {"channel": "sms"}).json()
    assert (sms["nps"], sms["n"], sms["indicative"]) == (-100.0, 20, True)
    bad = partner("scores:read").get("/api/v1/nps/", {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["errors"]


def test_csat_endpoint(partner) -> None:
    SurveyResponse.objects.bulk_create(SurveyResponse(kind="csat", score=s) for s in (5, 4, 2, 1))
    body = partner("scores:read").get("/api/v1/csat/").json()
    assert body == {"csat": 50.0, "n": 4, "satisfied": 2, "indicative": True}


def test_people_need_the_permission(client, marketer, agent) -> None:
    client.force_login(agent)
    assert client.get("/api/v1/nps/").status_code == 403
    client.force_login(marketer)
    assert client.get("/api/v1/nps/").status_code == 200


def test_csat_can_keep_each_customers_latest_answer(partner) -> None:
    customer = CustomerFactory()
    SurveyResponse.objects.create(
        kind="csat", score=1, customer=customer, answered_at=datetime(2026, 9, 1, tzinfo=UTC)
    )
    SurveyResponse.objects.create(
        kind="csat", score=5, customer=customer, answered_at=datetime(2026, 9, 2, tzinfo=UTC)
    )
    client = partner("scores:read")
    assert client.get("/api/v1/csat/").json()["n"] == 2
    latest = client.get("/api/v1/csat/", {"all": "false"}).json()
    assert (latest["n"], latest["csat"]) == (1, 100.0)
