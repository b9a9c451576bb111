"""In a real browser: walk the duplicates review queue, then undo a merge from the customer page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from customers.models import Customer, MatchCandidate
from tests.e2e.test_customer_search import sign_in
from tests.factories import CustomerFactory, EmailFactory

pytestmark = pytest.mark.e2e


def _pair(first: str, last: str, probability: float) -> tuple[Customer, Customer]:
    left = CustomerFactory(first_name=first, last_name=last)
    right = CustomerFactory(first_name=first, last_name=last)
    EmailFactory(customer=left, value=f"{first.lower()}@example.org")
    EmailFactory(customer=right, value=f"{first.lower()}.{last.lower()}@example.net")
    terms = [
        {"field": "prior", "level": "match prior", "weight": -8.0},
        {"field": "surname", "level": "exact", "weight": 9.5},
        {"field": "given_name", "level": "exact", "weight": 7.0},
    ]
    MatchCandidate.objects.create(
        left=left, right=right, probability=probability, weight=8.5,
        explanation={"total": 8.5, "probability": probability, "terms": terms},
    )  # fmt: skip
    return left, right


def test_merge_one_pair_reject_another_then_undo_the_merge(
    live_server, page: Page, marketer: User, results_dir: Path
) -> None:
    first_left, first_right = _pair("Gaston", "Lagaffe", 0.97)
    second_left, second_right = _pair("Jeanne", "Lagaffe", 0.61)

    sign_in(page, live_server.url, "marketer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("heading", name="Possible duplicates")).to_be_visible()
    expect(page.locator("#pending-count")).to_contain_text("2 pairs to review")

    # The most likely pair comes first, with its evidence; merge it from the keyboard.
    candidate = page.locator("#candidate")
    expect(candidate).to_contain_text("gaston@example.org")
    expect(page.locator("#evidence")).to_contain_text("surname")
    page.screenshot(path=str(results_dir / "review-queue.png"), full_page=True)
    page.keyboard.press("m")
    expect(page.locator(".messages")).to_contain_text(f"Merged #{first_right.pk} into #{first_left.pk}")

    # Then the second one: not the same person.
    expect(candidate).to_contain_text("jeanne@example.org")
    page.get_by_role("button", name="Not the same person").click()
    expect(page.locator(".messages")).to_contain_text("will not be proposed again")
    expect(page.locator("#queue-empty")).to_be_visible()
    assert MatchCandidate.objects.get(left=second_left).status == "rejected"
    second_right.refresh_from_db()
    assert second_right.merged_into_id is None

    # Undo the merge from the survivor's page: the other record comes back.
    page.goto(f"{live_server.url}/customers/{first_left.pk}/")
    merges = page.locator("#merges")
    expect(merges).to_contain_text(f"#{first_right.pk} merged into this record")
    merges.get_by_role("button", name="Undo").click()
    expect(page.locator(".messages")).to_contain_text(f"customer #{first_right.pk} is back")
    expect(page.locator("#merges")).to_contain_text("undone")
    first_right.refresh_from_db()
    assert first_right.merged_into_id is None
    page.goto(f"{live_server.url}/customers/{first_right.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Gaston Lagaffe")
