"""In a real browser: an agent takes the top case of the inbox, sees the customer's story
beside the thread, answers with a canned reply sent through X (replayed), while a colleague
opening the same case is told that someone is replying."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from scrm.actors import Actor
from scrm.roles import AGENT
from social.models import CannedReply, Case, Reply
from social.services import account_create
from tests.e2e.test_customer_search import sign_in
from tests.factories import CustomerFactory, PurchaseFactory, SocialIdentityFactory
from tests.social.test_inbox_views import X_TOKENS, make_case

pytestmark = pytest.mark.e2e

TWEET_CREATED = Path(__file__).resolve().parents[1] / "fixtures" / "x_v2" / "tweet_create.json"


@pytest.fixture
def x_network() -> responses.RequestsMock:
    """X's API replayed for the whole test: the live server runs in this process, so the
    reply task (eager, on commit) goes through this mock, in the server's thread."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.post(
            "https://api.twitter.com/2/tweets", json=json.loads(TWEET_CREATED.read_text()), status=201
        )
        yield mocked


def test_take_answer_with_canned_reply_and_collision(
    live_server,
    new_page: Callable[[], Page],
    agent: User,
    make_user: Callable[..., User],
    x_network: responses.RequestsMock,
    results_dir: Path,
) -> None:
    make_user("colleague", AGENT)
    account_create(
        name="Acme on X", provider="x", credentials=X_TOKENS, actor=Actor.system("test"), external_id="999"
    )
    marie = CustomerFactory(first_name="Marie", last_name="Lefèvre")
    PurchaseFactory(customer=marie, channel="shop")
    identity = SocialIdentityFactory(handle="marie_lfv", customer=marie, followers_count=830)
    make_case("Last month the lid broke too", author=identity, status=Case.Status.RESOLVED)
    case = make_case("My kettle leaks, @acme, third time!", author=identity, priority=85, due_in=-5)
    make_case("When do you open on Sunday?", priority=30)
    CannedReply.objects.create(
        title="Apology", body="Sorry {first_name}, we are on it (case {case_id}). {agent}"
    )

    page = new_page()
    sign_in(page, live_server.url, "agent")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("heading", name="Inbox", level=1)).to_be_visible()
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    top = page.locator("#inbox-rows tr.case-row").first
    expect(top).to_contain_text("My kettle leaks")  # overdue and high priority: first
    expect(top).to_have_class(re.compile(r"\boverdue\b.*\bselected\b"))
    page.screenshot(path=str(results_dir / "inbox.png"), full_page=True)

    # Take it from the keyboard: the case page opens, the customer's story beside the thread.
    page.keyboard.press("t")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Case #{case.pk}")
    expect(page.locator(".messages")).to_contain_text(f"Case #{case.pk} is yours.")
    expect(page.locator("#thread")).to_contain_text("My kettle leaks")
    customer = page.locator("#customer")
    expect(customer).to_contain_text("Marie Lefèvre")
    expect(customer).to_contain_text("1 purchase")
    expect(customer.locator("[data-testid=customer-cases]")).to_contain_text("resolved")
    expect(customer.locator("[data-testid=customer-posts]")).to_contain_text("Last month the lid broke too")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")

    # Picking the canned reply fills the box and claims the case for this agent.
    with page.expect_response(lambda r: r.url.endswith("/replying/") and r.request.method == "POST"):
        page.get_by_label("Canned reply").select_option(label="Apology")
    expect(page.locator("#reply-text")).to_have_value(f"Sorry Marie, we are on it (case {case.pk}). Agent")

    # A colleague opening the same case meanwhile is warned, and so when typing.
    other = new_page()
    sign_in(other, live_server.url, "colleague")
    other.goto(f"{live_server.url}/social/cases/{case.pk}/")
    expect(other.get_by_test_id("collision")).to_have_text("agent is replying to this case.")
    other.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    other.locator("#reply-text").fill("On it too")
    expect(other.get_by_test_id("collision")).to_have_text("agent is replying to this case.")
    other.screenshot(path=str(results_dir / "case-collision.png"), full_page=True)
    other.get_by_role("button", name="Send reply").click()
    expect(other.locator("#reply-error")).to_contain_text("agent is replying to this case; wait")
    expect(other.locator("#reply-text")).to_have_value("On it too")

    # The agent sends: the reply goes out through X and shows as sent.
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messages")).to_contain_text("Reply queued")
    reply = page.locator("#thread [data-testid=reply]")
    expect(reply).to_contain_text(f"Sorry Marie, we are on it (case {case.pk}).")
    expect(reply.locator(".reply-status")).to_have_text("sent")
    page.screenshot(path=str(results_dir / "case-replied.png"), full_page=True)
    assert Reply.objects.get(case=case).status == Reply.Status.SENT
    assert len(x_network.calls) == 1
    assert json.loads(x_network.calls[0].request.body)["text"].startswith("Sorry Marie")
