"""In a real browser: a marketer reads the listening dashboard, narrows it with a filter
(htmx swaps the figures in place) and drills down from a figure to the posts behind it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, Response, expect

from scrm.actors import Actor
from social.ingestion import post_ingest_batch
from social.models import ListeningRule, Post
from social.providers.base import FetchQuery, Stream
from social.providers.fake import FakeProvider
from social.selectors import ListeningFilters, listening_figures
from social.services import rule_create
from tests.e2e.test_customer_search import sign_in, watch_origin

pytestmark = pytest.mark.e2e

SINCE, UNTIL = date(2026, 10, 1), date(2026, 10, 30)


@pytest.fixture
def heard(db: None) -> dict[str, ListeningRule]:
    """A brand and a competitor rule, then 150 demo posts over October 2026."""
    actor = Actor.system("test")
    terms = {"hashtags": "", "handles": "", "languages": "", "stream": "search", "account": None}
    brand = rule_create(actor=actor, name="Acme", kind="brand", keywords="acme", **terms)
    globex = rule_create(actor=actor, name="Globex", kind="competitor", keywords="globex", **terms)
    demo = FakeProvider(count=150, days=29, competitor="Globex", competitor_share=0.3)
    page = demo.fetch(FetchQuery(stream=Stream.FEED, limit=150))
    post_ingest_batch(posts=page.posts, source=Post.Source.POLL)
    return {"brand": brand, "globex": globex}


def expected(**filters: object):
    return listening_figures(ListeningFilters(since=SINCE, until=UNTIL, **filters))  # type: ignore[arg-type]


def posts_found(count: int) -> str:
    return f"{count} post" if count == 1 else f"{count} posts"


def test_marketer_filters_the_dashboard_and_drills_down(
    live_server, page: Page, marketer: User, heard: dict[str, ListeningRule], results_dir: Path
) -> None:
    everything, on_facebook = expected(), expected(network="facebook")
    assert everything.total > on_facebook.total > 0
    assert everything.share_of_voice.competitor > 0

    outside = watch_origin(page, live_server.url)
    sign_in(page, live_server.url, "marketer")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Accounts")).to_have_count(0)
    nav.get_by_role("link", name="Listening", exact=True).click()
    expect(page.get_by_role("heading", name="Listening", level=1)).to_be_visible()

    page.goto(f"{live_server.url}/social/listening/?since={SINCE}&until={UNTIL}")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    figures = page.locator("#figures")
    expect(figures.get_by_test_id("volume-total")).to_have_text(str(everything.total))
    expect(figures.get_by_test_id("sentiment-index")).to_have_text(f"{everything.sentiment.index:.1f}")
    expect(figures).to_contain_text("inferred from public posts, not NPS")
    expect(figures).to_contain_text(f"n = {everything.sentiment.total}")
    expect(figures.get_by_test_id("share-of-voice")).to_have_text(f"{everything.share_of_voice.share:.1f} %")
    expect(page.locator("#share-of-voice tr[data-rule]")).to_contain_text("Globex")
    page.screenshot(path=results_dir / "listening-dashboard.png", full_page=True)

    def is_filtered(response: Response) -> bool:
        return (
            "/social/listening/" in response.url
            and "network=facebook" in response.url
            and response.request.headers.get("hx-request") == "true"
        )

    with page.expect_response(is_filtered) as answer:
        page.get_by_label("Network").select_option("facebook")
    assert answer.value.ok
    expect(figures.get_by_test_id("volume-total")).to_have_text(str(on_facebook.total))
    expect(figures.get_by_test_id("sentiment-index")).to_have_text(f"{on_facebook.sentiment.index:.1f}")
    expect(page).to_have_url(re.compile(r"network=facebook"))

    negative = on_facebook.sentiment.negative
    assert negative > 0
    page.locator("#sentiment tr[data-sentiment=negative]").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/social/posts/\?.*sentiment=negative"))
    expect(page.get_by_role("heading", name="Posts", level=1)).to_be_visible()
    expect(page.locator("#result-count")).to_have_text(
        f"{negative} post" if negative == 1 else f"{negative} posts"
    )
    posts = page.locator("#results li.post")
    expect(posts.first).to_contain_text("Facebook")
    expect(posts.first.locator(".sentiment")).to_contain_text("negative")
    expect(page.get_by_label("Network")).to_have_value("facebook")
    expect(page.get_by_label("Sentiment")).to_have_value("negative")
    page.screenshot(path=results_dir / "listening-posts.png", full_page=True)

    # Back on the dashboard, a day of the chart opens that day's posts.
    page.go_back()
    busiest = max(on_facebook.volume, key=lambda day: day.posts)
    page.locator(f"svg.bars a[data-day='{busiest.day.isoformat()}']").click()
    expect(page).to_have_url(re.compile(r"/social/posts/\?"))
    expect(page.locator("#result-count")).to_have_text(posts_found(busiest.posts))
    assert outside == [], f"requests outside the app: {outside}"
