"""In a real browser on a phone-sized screen: answer a survey once, then find the link spent."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from influence.models import SurveyResponse
from influence.services import survey_invite
from scrm.actors import Actor
from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import CustomerFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def phone(browser: Browser) -> Generator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_answer_an_nps_survey_on_a_phone(live_server, phone: Page, results_dir: Path) -> None:
    customer = CustomerFactory(first_name="Léa")
    invitation, path = survey_invite(customer=customer, kind="nps", actor=Actor.system("test"))

    phone.goto(f"{live_server.url}{path}")
    expect(
        phone.get_by_role("heading", name="How likely are you to recommend us to a friend?")
    ).to_be_visible()
    choices = phone.locator(".score-choice")
    expect(choices).to_have_count(11)
    # Large enough to tap, and the eleven fit the screen without scrolling sideways.
    box = choices.nth(9).bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Sending without a score says what is missing and keeps the comment.
    phone.get_by_label("Anything to add?").fill("Fast answer on X, thanks!")
    phone.get_by_role("button", name="Send my answer").tap()
    expect(phone.get_by_role("alert")).to_contain_text("Choose a score.")
    expect(phone.get_by_label("Anything to add?")).to_have_value("Fast answer on X, thanks!")

    phone.locator(".score-choice", has_text="9").filter(has_not_text="10").tap()
    expect(phone.get_by_role("radio", name="9", exact=True)).to_be_checked()
    phone.screenshot(path=str(results_dir / "survey-phone.png"), full_page=True)
    phone.get_by_role("button", name="Send my answer").tap()
    expect(phone.get_by_role("heading", name="Thank you!")).to_be_visible()

    answer = SurveyResponse.objects.get(invitation=invitation)
    assert (answer.score, answer.comment, answer.customer_id) == (9, "Fast answer on X, thanks!", customer.pk)

    # The link is spent: opening it again says so.
    phone.goto(f"{live_server.url}{path}")
    expect(phone.locator("#survey-error")).to_contain_text("already been answered")
