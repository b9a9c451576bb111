"""The customer API as a partner uses it (api-contract.md)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import ContactPoint, Customer, ExternalId, SocialIdentity
from scrm.models import AuditEntry
from scrm.selectors import audit_entries_for
from tests.factories import (
    CustomerFactory,
    EmailFactory,
    PhoneFactory,
    PurchaseFactory,
    SocialIdentityFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers/"
UPSERT = "/api/v1/customers/upsert/"

BODY = {
    "first_name": "Amélie",
    "last_name": "Poulain",
    "emails": ["Amelie.Poulain@Example.FR"],
    "phones": ["06 12 34 56 78"],
    "external_ids": {"shop": "A-1001"},
    "social": [{"network": "x", "handle": "@AmelieP"}],
    "locale": "fr-FR",
    "consent": {"marketing_email": True},
}


def test_create_returns_201_with_normalised_contact_data(partner):
    client = partner("customers:write")
    response = client.post(LIST, BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert customer.first_name == "Amélie"
    emails = [p["value"] for p in body["contact_points"] if p["kind"] == "email"]
    phones = [p["value"] for p in body["contact_points"] if p["kind"] == "phone"]
    assert emails == ["amelie.poulain@example.fr"]
    assert phones == ["+33612345678"]
    assert body["external_ids"] == {"shop": "A-1001"}
    assert body["social_identities"][0]["handle"] == "AmelieP"
    assert body["consent"]["marketing_email"] is True
    assert body["consent"]["marketing_email_at"] is not None
    entry = audit_entries_for(subject=customer).get()
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor_api_key is not None
    assert entry.actor_label.startswith("api:")


def test_upsert_twice_with_the_same_body_makes_one_customer(partner):
    client = partner("customers:write", "customers:read")
    first = client.put(UPSERT, BODY, format="json")
    second = client.put(UPSERT, BODY, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["created"] is True and second.json()["created"] is False
    assert Customer.objects.count() == 1
    assert ContactPoint.objects.count() == 2
    # The second call changed nothing, so it left no audit entry.
    customer = Customer.objects.get()
    assert [e.action for e in audit_entries_for(subject=customer)] == [AuditEntry.Action.CREATE]


@pytest.mark.parametrize(
    "key",
    [
        {"external_ids": {"shop": "A-1001"}},
        {"emails": ["AMELIE.POULAIN@example.fr"]},
        {"phones": ["+33 6 12 34 56 78"]},
        {"social": [{"network": "x", "handle": "ameliep"}]},
    ],
)
def test_upsert_matches_by_each_key_and_updates(partner, key):
    client = partner("customers:write")
    created = client.put(UPSERT, BODY, format="json").json()
    response = client.put(UPSERT, {**key, "last_name": "Poulain-Dufayel"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == created["id"]
    assert Customer.objects.get().last_name == "Poulain-Dufayel"


def test_upsert_does_not_match_on_unverified_email(partner):
    client = partner("customers:write")
    existing = CustomerFactory()
    EmailFactory(customer=existing, value="shared@example.org", verified=False)
    response = client.put(UPSERT, {"first_name": "Other", "emails": ["shared@example.org"]}, format="json")
    assert response.status_code == 201
    assert response.json()["id"] != existing.pk


def test_upsert_with_keys_of_two_customers_is_a_conflict(partner):
    client = partner("customers:write")
    EmailFactory(value="one@example.org")
    PhoneFactory(value="+33612345678")
    response = client.put(UPSERT, {"emails": ["one@example.org"], "phones": ["0612345678"]}, format="json")
    assert response.status_code == 409
    assert Customer.objects.count() == 2


def test_create_with_an_external_id_of_another_customer_is_409_and_stores_nothing(partner):
    client = partner("customers:write")
    owner = CustomerFactory()
    ExternalId.objects.create(customer=owner, source="shop", value="X1")
    response = client.post(LIST, {"first_name": "New", "external_ids": {"shop": "X1"}}, format="json")
    assert response.status_code == 409
    assert "external_ids" in response.json()["errors"]
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "A", "emails": ["not-an-email"]}, "emails"),
        ({"first_name": "A", "phones": ["12"]}, "phones"),
        ({"first_name": "A", "social": [{"network": "myspace", "handle": "a"}]}, "social"),
        ({"first_name": "A", "social": [{"network": "x", "handle": "has space"}]}, "social"),
        ({"first_name": "A", "consent": {"telepathy": True}}, "consent"),
        ({"first_name": "A", "date_of_birth": "31/12/1990"}, "date_of_birth"),
        ({"first_name": "A" * 101}, "first_name"),
        ({"first_name": "A", "emails": "a@b.c"}, "emails"),
        ({}, "non_field_errors"),
    ],
)
def test_invalid_bodies_get_400_naming_the_field(partner, body, field):
    client = partner("customers:write")
    response = client.post(LIST, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Customer.objects.count() == 0


def test_malformed_json_is_400_not_500(partner):
    client = partner("customers:write")
    response = client.generic("POST", LIST, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_without_a_key_401_with_a_wrong_key_401_without_the_scope_403(partner, client):
    assert client.get(LIST).status_code == 401
    assert client.get(LIST, HTTP_AUTHORIZATION="Bearer scrm_nope_nope").status_code == 401
    reader = partner("customers:read")
    assert reader.get(LIST).status_code == 200
    assert reader.post(LIST, BODY, format="json").status_code == 403
    assert reader.put(UPSERT, BODY, format="json").status_code == 403
    other = partner("loyalty:read")
    assert other.get(LIST).status_code == 403
    assert Customer.objects.count() == 0


def test_revoked_key_is_refused(partner):
    from scrm.actors import Actor
    from scrm.models import ApiKey
    from scrm.services import api_key_revoke

    client = partner("customers:read")
    assert client.get(LIST).status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get(), actor=Actor.system())
    assert client.get(LIST).status_code == 401


def test_list_is_paginated_and_filters(partner):
    client = partner("customers:read")
    a = CustomerFactory(first_name="Jeanne", last_name="Moreau")
    EmailFactory(customer=a, value="jeanne@example.org")
    PhoneFactory(customer=a, value="+33698765432")
    SocialIdentityFactory(customer=a, handle="JMoreau", handle_normalized="jmoreau")
    CustomerFactory.create_batch(3)
    body = client.get(LIST).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4
    for query in (
        "?email=JEANNE@example.org",
        "?phone=06 98 76 54 32",
        "?phone=0033698765432",
        "?handle=@jmoreau",
        "?q=Moreau",
        "?q=jeanne moreau",
        "?q=%2B33 6 98 76 54 32",
        "?q=@JMoreau",
        "?q=jeanne@example.org",
        "?network=x",
    ):
        results = client.get(LIST + query).json()["results"]
        assert [r["id"] for r in results] == [a.pk], query
    assert client.get(LIST + "?phone=garbage").json()["count"] == 0
    page = client.get(LIST + "?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]


def test_retrieve_is_the_360(partner):
    client = partner("customers:read")
    customer = CustomerFactory()
    EmailFactory(customer=customer)
    PurchaseFactory(customer=customer)
    SocialIdentityFactory(customer=customer)
    body = client.get(f"{LIST}{customer.pk}/").json()
    assert body["purchases"]["count"] == 1
    assert len(body["recent_purchases"]) == 1
    assert len(body["social_identities"]) == 1
    for panel in ("recent_posts", "cases", "loyalty", "scores"):
        assert panel in body
    assert client.get(f"{LIST}999999/").status_code == 404


def test_merged_customer_answers_301_naming_the_survivor(partner):
    client = partner("customers:read")
    survivor = CustomerFactory()
    old = CustomerFactory(merged_into=survivor)
    response = client.get(f"{LIST}{old.pk}/")
    assert response.status_code == 301
    assert response.json()["survivor"] == survivor.pk
    assert response["Location"].endswith(f"/api/v1/customers/{survivor.pk}/")
    assert [r["id"] for r in client.get(LIST).json()["results"]] == [survivor.pk]


def test_patch_updates_fields_and_adds_contacts(partner):
    client = partner("customers:write", "customers:read")
    customer = CustomerFactory(first_name="Old")
    response = client.patch(
        f"{LIST}{customer.pk}/",
        {"first_name": "New", "emails": ["new@example.org"], "consent": {"data_processing": True}},
        format="json",
    )
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert customer.first_name == "New"
    assert customer.consent_data_processing
    assert customer.contact_points.get().value == "new@example.org"
    bad = client.patch(f"{LIST}{customer.pk}/", {"phones": ["nope"]}, format="json")
    assert bad.status_code == 400 and "phones" in bad.json()["errors"]
    customer.refresh_from_db()
    assert customer.first_name == "New"


def test_social_handle_linked_to_another_customer_is_409(partner):
    client = partner("customers:write")
    SocialIdentityFactory(handle="taken", handle_normalized="taken")
    response = client.post(
        LIST, {"first_name": "B", "social": [{"network": "x", "handle": "Taken"}]}, format="json"
    )
    assert response.status_code == 409
    assert SocialIdentity.objects.count() == 1


def test_idempotency_key_replays_the_first_response(partner):
    client = partner("customers:write")
    first = client.post(LIST, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(LIST, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    other_body = client.post(LIST, {**BODY, "first_name": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other_body.status_code == 409


def test_staff_session_can_use_the_api_by_role(client, agent, marketer):
    client.force_login(agent)
    assert client.get(LIST).status_code == 200
    # Agents may not create customers; marketing may.
    assert client.post(LIST, BODY, content_type="application/json").status_code == 403
    client.force_login(marketer)
    assert client.post(LIST, BODY, content_type="application/json").status_code == 201


def test_throttled_key_gets_429_with_retry_after(partner):
    client = partner("customers:read", rate=3)
    codes = [client.get(LIST).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get(LIST)
    assert int(response["Retry-After"]) > 0


def test_openapi_document_lists_every_endpoint(client):
    from openapi_spec_validator import validate

    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    paths = set(document["paths"])
    assert {
        "/api/v1/customers/",
        "/api/v1/customers/upsert/",
        "/api/v1/customers/{id}/",
        "/api/v1/customers/{id}/merge/",
        "/api/v1/merges/{merge_id}/undo/",
        "/api/v1/match-candidates/",
        "/api/v1/match-candidates/{id}/decision/",
    } <= paths
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary") or operation.get("description"), f"{method} {path} undocumented"
    assert "ApiKey" in document["components"]["securitySchemes"]
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
