"""Referral pages: the public link, the 360 section, the marketing list, CSV and rewards."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, RequestFactory

from influence.models import Referral, ReferralCode
from influence.referral_views import COOKIE, referral_code_from_cookie
from influence.referrals import referral_code_for, referral_record, referrals_convert_pending
from scrm.actors import Actor
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def referral(referrer, referred, *, converted: bool = False, **fields: object) -> Referral:
    made, _ = referral_record(
        referrer=referrer, referred=referred, channel="declared", referred_at=T0, actor=SYSTEM, **fields
    )  # type: ignore[arg-type]
    if converted:
        PurchaseFactory(customer=referred, purchased_at=T0 + timedelta(days=1))
        referrals_convert_pending(as_of=T0 + timedelta(days=2))
        made.refresh_from_db()
    return made


# --- the public link -------------------------------------------------------------------


def test_the_link_counts_remembers_and_greets(client: Client, settings) -> None:
    settings.REFERRAL_LANDING_URL = ""
    code = referral_code_for(customer=CustomerFactory(first_name="Chloé", last_name="Martin"), actor=SYSTEM)

    page = client.get(f"/r/{code.code.lower()}/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Chloé" in text and "Martin" not in text and code.code in text
    back = RequestFactory().get("/", HTTP_COOKIE=f"{COOKIE}={page.cookies[COOKIE].value}")
    assert referral_code_from_cookie(back) == code.code
    forged = RequestFactory().get("/", HTTP_COOKIE=f"{COOKIE}={code.code}")
    assert referral_code_from_cookie(forged) is None
    assert client.head(f"/r/{code.code}/").status_code == 200  # a link preview: not counted
    code.refresh_from_db()
    assert code.clicks == 1


def test_the_link_goes_to_the_landing_page_with_the_code(client: Client, settings) -> None:
    settings.REFERRAL_LANDING_URL = "https://shop.example.org/welcome?lang=fr"
    code = referral_code_for(customer=CustomerFactory(), actor=SYSTEM)
    for _ in range(3):
        moved = client.get(f"/r/{code.code}/")
    assert moved.status_code == 302
    assert moved["Location"] == f"https://shop.example.org/welcome?lang=fr&ref={code.code}"
    assert ReferralCode.objects.get(pk=code.pk).clicks == 3


def test_unknown_and_inactive_codes_are_not_found(client: Client) -> None:
    code = referral_code_for(customer=CustomerFactory(), actor=SYSTEM)
    ReferralCode.objects.filter(pk=code.pk).update(active=False)
    for path in ("/r/NOSUCH22/", f"/r/{code.code}/", "/r/%E2%9C%93/"):
        missing = client.get(path)
        assert missing.status_code == 404
        assert COOKIE not in missing.cookies
    assert ReferralCode.objects.get(pk=code.pk).clicks == 0


# --- the customer 360 --------------------------------------------------------------------


def test_the_360_shows_codes_referrals_and_who_referred(client: Client, marketer) -> None:
    godmother, customer = CustomerFactory(first_name="Ana"), CustomerFactory()
    friend = CustomerFactory(first_name="Zoé")
    referral(godmother, customer)
    referral(customer, friend, converted=True)
    code = referral_code_for(customer=customer, campaign="spring", actor=SYSTEM)
    client.force_login(marketer)

    page = client.get(f"/customers/{customer.pk}/").content.decode()

    assert 'data-testid="customer-referrals"' in page
    assert "Ana" in page and "Zoé" in page and code.code in page and f"/r/{code.code}/" in page
    assert "10.00 owed" in page and "Mark paid" in page


def test_creating_a_code_from_the_360(client: Client, marketer, agent) -> None:
    customer = CustomerFactory()
    client.force_login(agent)
    assert client.post(f"/insights/referrals/codes/{customer.pk}/").status_code == 403
    client.force_login(marketer)

    done = client.post(f"/insights/referrals/codes/{customer.pk}/", {"campaign": "summer"}, follow=True)

    code = ReferralCode.objects.get(customer=customer)
    assert code.campaign == "summer"
    assert code.code in done.content.decode() and done.redirect_chain[-1][0].endswith("#section-referrals")
    client.post(f"/insights/referrals/codes/{customer.pk}/", {"campaign": "summer"})
    assert ReferralCode.objects.filter(customer=customer).count() == 1
    assert client.get(f"/insights/referrals/codes/{customer.pk}/").status_code == 405


def test_the_360_api_carries_the_section(partner) -> None:
    customer = CustomerFactory()
    referral(customer, CustomerFactory())
    body = partner("customers:read").get(f"/api/v1/customers/{customer.pk}/").json()
    section = body["referrals"]
    assert len(section["made"]) == 1 and section["referred_by"] is None


# --- the marketing list ----------------------------------------------------------------


def test_only_marketing_and_admins_see_the_list(client: Client, agent, marketer) -> None:
    client.force_login(agent)
    assert client.get("/insights/referrals/").status_code == 403
    client.force_login(marketer)
    assert client.get("/insights/referrals/").status_code == 200


def test_totals_follow_the_filters(client: Client, marketer) -> None:
    alice, bob = CustomerFactory(), CustomerFactory()
    paid = referral(alice, CustomerFactory(), converted=True, campaign="spring")
    referral(alice, CustomerFactory(), converted=True, campaign="spring")
    referral(bob, CustomerFactory(), campaign="autumn")
    Referral.objects.filter(pk=paid.pk).update(reward_paid_at=T0 + timedelta(days=3), value=55)
    client.force_login(marketer)

    page = client.get("/insights/referrals/")

    totals = page.context["totals"]
    assert (totals.count, totals.converted, totals.conversion_rate) == (3, 2, pytest.approx(200 / 3))
    assert (totals.rewards_owed, totals.owed, totals.rewards_paid, totals.paid) == (10, 1, 10, 1)
    assert (totals.value, totals.valued) == (55, 1)
    spring = client.get("/insights/referrals/", {"campaign": "spring", "converted": "true"}).context["totals"]
    assert (spring.count, spring.converted) == (2, 2)
    only_bob = client.get("/insights/referrals/", {"referrer": bob.pk}).context
    assert only_bob["totals"].count == 1 and only_bob["page"].object_list[0].referrer == bob
    later = client.get("/insights/referrals/", {"since": "2026-09-02"}).context["totals"]
    assert later.count == 0
    partial = client.get("/insights/referrals/", HTTP_HX_REQUEST="true")
    assert next(t.name for t in partial.templates) == "influence/referrals_results.html"


def test_csv_export_has_every_filtered_row(client: Client, marketer) -> None:
    alice = CustomerFactory(first_name="=cmd")
    for _ in range(3):
        referral(alice, CustomerFactory(), campaign="spring")
    referral(CustomerFactory(), CustomerFactory(), campaign="autumn")
    client.force_login(marketer)

    export = client.get("/insights/referrals/", {"campaign": "spring", "format": "csv"})

    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][:4] == ["id", "referred_at", "referrer_id", "referrer"]
    assert len(rows) == 4 and {row[8] for row in rows[1:]} == {"spring"}
    assert all(row[3].startswith("'=cmd") for row in rows[1:])  # no formula in a spreadsheet


def test_marking_a_reward_paid(client: Client, marketer, agent) -> None:
    owed = referral(CustomerFactory(), CustomerFactory(), converted=True)
    pending = referral(CustomerFactory(), CustomerFactory())
    client.force_login(agent)
    assert client.post(f"/insights/referrals/{owed.pk}/reward-paid/").status_code == 403
    client.force_login(marketer)

    done = client.post(
        f"/insights/referrals/{owed.pk}/reward-paid/", {"next": "/insights/referrals/?converted=true"}
    )
    assert done.status_code == 302 and done["Location"] == "/insights/referrals/?converted=true"
    owed.refresh_from_db()
    assert owed.reward_paid_at is not None

    twice = client.post(f"/insights/referrals/{owed.pk}/reward-paid/", follow=True)
    assert "already marked paid" in twice.content.decode()
    not_yet = client.post(
        f"/insights/referrals/{pending.pk}/reward-paid/", {"next": "https://evil.example/"}, follow=False
    )
    assert not_yet["Location"] == "/insights/referrals/"
    pending.refresh_from_db()
    assert pending.reward_paid_at is None
