"""In a real browser: sign in, find a customer by live search, open the 360; role checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Locator, Page, Request, Response, expect

from customers.models import Customer
from scrm.models import ApiKey
from scrm.services import hash_secret
from tests.conftest import PASSWORD
from tests.factories import (
    CustomerFactory,
    EmailFactory,
    PhoneFactory,
    PurchaseFactory,
    SocialIdentityFactory,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def amelie(db: None) -> Customer:
    """The customer to find, among others that the search must leave out."""
    customer = CustomerFactory(first_name="Amélie", last_name="Poulain")
    EmailFactory(customer=customer, value="amelie.poulain@example.org")
    PhoneFactory(customer=customer, value="+33612345678", raw="+33 6 12 34 56 78")
    SocialIdentityFactory(customer=customer, network="instagram", handle="AmelieMontmartre")
    PurchaseFactory(customer=customer, source="shop", external_id="ORD-1001", amount=Decimal("129.90"))
    for first, last in [("Nino", "Quincampoix"), ("Raymond", "Dufayel")]:
        other = CustomerFactory(first_name=first, last_name=last)
        EmailFactory(customer=other)
        PhoneFactory(customer=other)
        SocialIdentityFactory(customer=other)
    return customer


def watch_origin(page: Page, base_url: str) -> list[str]:
    """Collects every request that leaves the live server (CDNs, fonts, trackers...)."""
    origin = urlsplit(base_url)
    outside: list[str] = []

    def check(request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme in {"http", "https", "ws", "wss"} and url.netloc != origin.netloc:
            outside.append(request.url)

    page.on("request", check)
    return outside


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topbar .who")).to_contain_text(username)


def open_customers(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()
    # htmx is served by the app itself and running: live search depends on it.
    expect(page.locator("script[src$='/static/vendor/htmx.min.js']")).to_have_count(1)
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")


def live_search(page: Page, text: str) -> None:
    """Types into the search box without submitting; htmx fetches the results fragment."""
    box = page.get_by_role("searchbox", name="Search")
    box.fill("")

    def is_search(response: Response) -> bool:
        url = urlsplit(response.url)
        return (
            url.path == "/customers/"
            and parse_qs(url.query).get("q") == [text]
            and response.request.headers.get("hx-request") == "true"
        )

    with page.expect_response(is_search) as answer:
        box.press_sequentially(text)
    assert answer.value.ok


def result_rows(page: Page) -> Locator:
    return page.locator("#results table tbody tr")


def test_agent_finds_customer_by_email_and_opens_360(
    live_server, page: Page, agent: User, amelie: Customer, results_dir: Path
) -> None:
    outside = watch_origin(page, live_server.url)
    static_answers: dict[str, int] = {}

    def record_static(response: Response) -> None:
        path = urlsplit(response.url).path
        if path.startswith("/static/"):
            static_answers[path] = response.status

    page.on("response", record_static)

    sign_in(page, live_server.url, "agent")
    open_customers(page)
    expect(result_rows(page)).to_have_count(3)

    live_search(page, "amelie.poulain@example.org")
    expect(page.locator("#result-count")).to_have_text("1 customer")
    expect(result_rows(page)).to_have_count(1)
    row = result_rows(page).first
    expect(row).to_contain_text("amelie.poulain@example.org")
    expect(row).to_contain_text("+33612345678")
    expect(row).to_contain_text("@AmelieMontmartre")
    # The search is in the address bar, so the result can be bookmarked or shared.
    expect(page).to_have_url(re.compile(r"/customers/\?q=amelie\.poulain%40example\.org"))

    row.get_by_role("link", name="Amélie Poulain").click()
    expect(page).to_have_url(f"{live_server.url}/customers/{amelie.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Amélie Poulain")
    contact = page.locator("#contact-points")
    expect(contact).to_contain_text("amelie.poulain@example.org")
    expect(contact).to_contain_text("+33612345678")
    identities = page.locator("#identities")
    expect(identities).to_contain_text("Instagram")
    expect(identities).to_contain_text("@AmelieMontmartre")
    purchases = page.locator("#purchases")
    expect(purchases).to_contain_text("1 purchase")
    expect(purchases.locator("tbody tr")).to_have_count(1)
    expect(purchases.locator("tbody tr")).to_contain_text("shop:ORD-1001")
    expect(purchases.locator("tbody tr")).to_contain_text("129.90 EUR")

    page.screenshot(path=results_dir / "customer-360.png", full_page=True)

    assert static_answers.get("/static/vendor/htmx.min.js") == 200
    assert static_answers.get("/static/css/app.css") == 200
    assert outside == [], f"requests outside the app: {outside}"


def test_search_by_phone_in_another_format_and_by_handle(
    live_server, page: Page, agent: User, amelie: Customer
) -> None:
    sign_in(page, live_server.url, "agent")
    open_customers(page)

    live_search(page, "06 12 34 56 78")
    expect(page.locator("#result-count")).to_have_text("1 customer")
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text("Amélie Poulain")

    live_search(page, "@ameliemontmartre")
    expect(page.locator("#result-count")).to_have_text("1 customer")
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text("Amélie Poulain")

    live_search(page, "@nobody_has_this")
    expect(result_rows(page)).to_have_count(0)
    expect(page.locator("#results")).to_contain_text("No customer matches this search.")


def test_api_keys_page_is_for_admins_only(
    live_server, new_page: Callable[[], Page], marketer: User, admin_user: User
) -> None:
    url = f"{live_server.url}/settings/api-keys/"

    page = new_page()
    sign_in(page, live_server.url, "marketer")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys")).to_have_count(0)
    response = page.goto(url)
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("button", name="Create key")).to_have_count(0)

    page = new_page()
    sign_in(page, live_server.url, "boss")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    expect(page).to_have_url(url)
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    page.get_by_role("textbox", name="Name").fill("Shop integration")
    page.get_by_label("customers:read", exact=True).check()
    page.get_by_label("customers:write", exact=True).check()
    page.get_by_role("button", name="Create key").click()

    shown = page.locator("#new-key")
    expect(shown).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("it will not be shown again")
    plain = shown.inner_text().strip()
    key = ApiKey.objects.get(name="Shop integration")
    assert key.key_hash == hash_secret(plain)
    assert key.scopes == ["customers:read", "customers:write"]
    expect(page.locator("table").filter(has_text="Shop integration")).to_contain_text(key.prefix)

    # Shown once: the page opened again lists the key but not its secret.
    page.goto(url)
    expect(page.locator("table")).to_contain_text("Shop integration")
    expect(page.locator("#new-key")).to_have_count(0)
    assert plain not in page.content()
