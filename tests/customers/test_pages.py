"""Customer pages as an agent and a marketer use them."""

from __future__ import annotations

import pytest

from customers.models import ContactPoint
from scrm.models import AuditEntry
from tests.factories import (
    CustomerFactory,
    EmailFactory,
    PhoneFactory,
    PurchaseFactory,
    SocialIdentityFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def jeanne():
    customer = CustomerFactory(first_name="Jeanne", last_name="Moreau")
    EmailFactory(customer=customer, value="jeanne.moreau@example.fr")
    PhoneFactory(customer=customer, value="+33612345678")
    SocialIdentityFactory(customer=customer, handle="JeanneM", handle_normalized="jeannem")
    PurchaseFactory(customer=customer, external_id="O-77")
    CustomerFactory.create_batch(5)
    return customer


@pytest.mark.parametrize(
    "query", ["jeanne.moreau@example.fr", "06 12 34 56 78", "+33 6 12 34 56 78", "@JeanneM", "Moreau"]
)
def test_agent_finds_a_customer_by_email_phone_or_handle(client, agent, jeanne, query):
    client.force_login(agent)
    response = client.get("/customers/", {"q": query})
    assert response.status_code == 200
    assert [c.pk for c in response.context["page"].object_list] == [jeanne.pk]


def test_live_search_answers_the_results_fragment(client, agent, jeanne):
    client.force_login(agent)
    response = client.get("/customers/", {"q": "Moreau"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"Jeanne Moreau" in response.content


def test_360_page_shows_the_whole_record(client, agent, jeanne):
    client.force_login(agent)
    response = client.get(f"/customers/{jeanne.pk}/")
    content = response.content.decode()
    for expected in ("Jeanne Moreau", "jeanne.moreau@example.fr", "+33612345678", "@JeanneM", "shop:O-77"):
        assert expected in content
    for panel in ("section-recent_posts", "section-cases", "section-scores", "section-loyalty", "history"):
        assert f'id="{panel}"' in content


def test_merged_customer_page_redirects_to_the_survivor(client, agent, jeanne):
    old = CustomerFactory(merged_into=jeanne)
    client.force_login(agent)
    response = client.get(f"/customers/{old.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{jeanne.pk}/"


def test_agent_adds_a_phone_with_htmx_and_it_is_audited(client, agent, jeanne):
    client.force_login(agent)
    response = client.post(
        f"/customers/{jeanne.pk}/contact-points/",
        {"kind": "phone", "value": "07 98 76 54 32", "verified": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"+33798765432" in response.content
    assert jeanne.contact_points.filter(kind="phone", value="+33798765432").exists()
    entry = AuditEntry.objects.filter(actor_user=agent).get()
    assert "+33798765432" in str(entry.changes)
    history = client.get(f"/customers/{jeanne.pk}/").content.decode()
    assert "agent" in history


def test_bad_phone_in_the_page_shows_a_readable_error_and_keeps_data(client, agent, jeanne):
    client.force_login(agent)
    before = ContactPoint.objects.count()
    response = client.post(
        f"/customers/{jeanne.pk}/contact-points/", {"kind": "phone", "value": "12"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "not a valid phone number" in response.content.decode() or "not a phone number" in (
        response.content.decode()
    )
    assert ContactPoint.objects.count() == before


def test_edit_page_changes_consent_with_its_date(client, agent, jeanne):
    client.force_login(agent)
    response = client.post(
        f"/customers/{jeanne.pk}/edit/",
        {"first_name": "Jeanne", "last_name": "Moreau", "locale": "fr-FR", "consent_marketing_email": "on"},
    )
    assert response.status_code == 302
    jeanne.refresh_from_db()
    assert jeanne.consent_marketing_email and jeanne.consent_marketing_email_at is not None


def test_a_user_without_a_role_cannot_see_customers(client, db, jeanne):
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get("/customers/").status_code == 403
    assert client.get(f"/customers/{jeanne.pk}/").status_code == 403
    assert client.get("/api/v1/customers/").status_code == 403


def test_validation_messages_follow_the_interface_language(client, agent, jeanne):
    client.force_login(agent)
    client.post("/i18n/setlang/", {"language": "fr"})
    response = client.post(
        f"/customers/{jeanne.pk}/contact-points/",
        {"kind": "email", "value": "jeanne@"},
        HTTP_HX_REQUEST="true",
    )
    assert "n’est pas une adresse e-mail valide" in response.content.decode()
