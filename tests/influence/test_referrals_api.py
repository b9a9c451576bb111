"""POST and GET /api/v1/referrals/ as a partner uses them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from influence.models import Referral
from influence.referrals import referral_code_for, referrals_convert_pending
from scrm.actors import Actor
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

REFERRALS = "/api/v1/referrals/"
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def body(referrer, referred, **more: object) -> dict:
    return {"referrer": referrer.pk, "referred": referred.pk, "referred_at": "2026-09-01T12:00:00Z", **more}


def test_record_with_a_code_then_the_same_pair_again(partner) -> None:
    referrer, referred = CustomerFactory(), CustomerFactory(created_at=T0)
    code = referral_code_for(customer=referrer, campaign="autumn", actor=Actor.system())
    client = partner("customers:write")

    created = client.post(REFERRALS, body(referrer, referred, code=code.code.lower()), format="json")

    assert created.status_code == 201, created.json()
    data = created.json()
    keys = ("referrer", "referred", "code", "channel", "campaign", "type", "type_inferred")
    assert {k: data[k] for k in keys} == {
        "referrer": referrer.pk, "referred": referred.pk, "code": code.code, "channel": "code",
        "campaign": "autumn", "type": "1", "type_inferred": True,
    }  # fmt: skip
    assert data["converted_at"] is None and data["reward_paid_at"] is None
    again = client.post(REFERRALS, body(referrer, referred, type="2"), format="json")
    assert again.status_code == 200 and again.json() == data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "UNKNOWN9"}, "code"),
        ({"type": "3"}, "type"),
        ({"channel": "pigeon"}, "channel"),
        ({"referred_at": "yesterday"}, "referred_at"),
        ({"referred": 999999}, "referred"),
        ({"referrer": None}, "referrer"),
    ],
)
def test_bad_bodies_get_field_errors(partner, change: dict, field: str) -> None:
    sent = {**body(CustomerFactory(), CustomerFactory()), **change}
    refused = partner("customers:write").post(REFERRALS, sent, format="json")
    assert refused.status_code == 400
    assert field in refused.json()["errors"]
    assert not Referral.objects.exists()


def test_self_referral_is_a_400(partner) -> None:
    customer = CustomerFactory()
    refused = partner("customers:write").post(REFERRALS, body(customer, customer), format="json")
    assert refused.status_code == 400 and "referred" in refused.json()["errors"]


def test_a_second_referrer_is_a_409(partner) -> None:
    first, second, referred = CustomerFactory(), CustomerFactory(), CustomerFactory()
    client = partner("customers:write")
    assert client.post(REFERRALS, body(first, referred), format="json").status_code == 201
    refused = client.post(REFERRALS, body(second, referred), format="json")
    assert refused.status_code == 409
    assert str(first.pk) in refused.json()["errors"]["referred"][0]


def test_idempotency_key_replays_the_first_answer(partner) -> None:
    client = partner("customers:write")
    sent = body(CustomerFactory(), CustomerFactory())
    first = client.post(REFERRALS, sent, format="json", headers={"Idempotency-Key": "ref-1"})
    again = client.post(REFERRALS, sent, format="json", headers={"Idempotency-Key": "ref-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    other = body(CustomerFactory(), CustomerFactory())
    assert (
        client.post(REFERRALS, other, format="json", headers={"Idempotency-Key": "ref-1"}).status_code == 409
    )


def test_scopes(partner) -> None:
    sent = body(CustomerFactory(), CustomerFactory())
    assert APIClient().post(REFERRALS, sent, format="json").status_code == 401
    assert partner("scores:read").post(REFERRALS, sent, format="json").status_code == 403
    assert partner("customers:write").get(REFERRALS).status_code == 403
    assert partner("scores:read").get(REFERRALS).status_code == 200


def test_list_with_filters(partner) -> None:
    writer, reader = partner("customers:write"), partner("scores:read")
    alice, bob = CustomerFactory(), CustomerFactory()
    early, late, other = CustomerFactory(), CustomerFactory(), CustomerFactory()
    writer.post(REFERRALS, body(alice, early, referred_at="2026-08-01T00:00:00Z"), format="json")
    writer.post(REFERRALS, body(alice, late, referred_at="2026-09-15T00:00:00Z"), format="json")
    writer.post(REFERRALS, body(bob, other, referred_at="2026-09-20T00:00:00Z"), format="json")
    PurchaseFactory(customer=late, purchased_at=datetime(2026, 9, 16, tzinfo=UTC))
    referrals_convert_pending(as_of=T0 + timedelta(days=60))

    def ids(**query: str) -> list[int]:
        page = reader.get(REFERRALS, query).json()
        assert set(page) == {"count", "next", "previous", "results"}
        return [row["referred"] for row in page["results"]]

    assert ids() == [other.pk, late.pk, early.pk]
    assert ids(referrer=str(alice.pk)) == [late.pk, early.pk]
    assert ids(referred=str(early.pk)) == [early.pk]
    assert ids(converted="true") == [late.pk]
    assert ids(converted="false") == [other.pk, early.pk]
    assert ids(since="2026-09-01T00:00:00Z", until="2026-09-18T00:00:00Z") == [late.pk]
    assert reader.get(REFERRALS, {"since": "soon"}).status_code == 400


def test_referrals_are_in_the_schema(admin_user, client) -> None:
    client.force_login(admin_user)
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    operations = paths["/api/v1/referrals/"]
    assert {"get", "post"} <= set(operations)
    assert {"201", "200", "400", "409"} <= set(operations["post"]["responses"])
