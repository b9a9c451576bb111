"""In a real browser: a marketer signs in and lands on the insights dashboard, changes the
period, clicks a bar of the CLV x CRV segments chart (Chart.js, drawn on a canvas) and
lands on the matching customers. A full-page screenshot of the dashboard is saved in
test-results/dashboard.png."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from influence.models import Referral, ScoreRun, ScoreSnapshot, SurveyResponse
from influence.rollups import rollups_refresh
from social.models import ListeningRule, Post, PostRuleMatch
from tests.e2e.test_customer_search import sign_in, watch_origin
from tests.factories import CustomerFactory, PurchaseFactory, SocialIdentityFactory

pytestmark = pytest.mark.e2e

SEGMENTS = ("champions", "affluents", "advocates", "misers")
PER_SEGMENT = {"champions": 5, "affluents": 7, "advocates": 4, "misers": 9}


@pytest.fixture
def demo(db: None) -> dict[str, int]:
    """Customers with purchases in each segment, posts over the last 80 days about the
    brand and a competitor, survey answers, a referral, and a finished score run."""
    now = timezone.now()
    brand = ListeningRule.objects.create(name="Acme", kind="brand", keywords=["acme"], campaign="spring")
    globex = ListeningRule.objects.create(name="Globex", kind="competitor", keywords=["globex"])
    customers = []
    for segment, count in PER_SEGMENT.items():
        for n in range(count):
            customer = CustomerFactory(segment=segment, first_name=f"{segment.title()}{n}")
            PurchaseFactory(
                customer=customer, amount=Decimal(40 + 10 * n), purchased_at=now - timedelta(days=n)
            )
            customers.append(customer)
    labels = ("positive", "positive", "neutral", "negative")
    for n in range(120):
        author = SocialIdentityFactory(
            customer=customers[n % len(customers)], network=("x", "instagram")[n % 2]
        )
        created = now - timedelta(days=n % 80, hours=n % 5)
        label = labels[n % 4]
        score = {"positive": 0.6, "neutral": 0.0, "negative": -0.6}[label]
        post = Post.objects.create(
            network=author.network, external_id=f"demo-{n}", author=author, text=f"acme post {n}",
            language="en", created_at=created, sentiment=score,
            sentiment_label=label, sentiment_model="test", source="api", likes=n % 7,
        )  # fmt: skip
        for rule in (brand, globex) if n % 5 == 0 else (brand,) if n % 3 else (globex,):
            PostRuleMatch.objects.create(post=post, rule=rule, kind=rule.kind, created_at=created)
    rollups_refresh(days=None)
    for n, customer in enumerate(customers):
        SurveyResponse.objects.create(
            kind="nps",
            score=(10, 9, 7, 3, 10)[n % 5],
            customer=customer,
            answered_at=now - timedelta(days=n * 3),
        )
    Referral.objects.create(
        referrer=customers[0], referred=customers[-1], type="1", referred_at=now - timedelta(days=3),
        converted_at=now - timedelta(days=1), value=Decimal("85.00"),
    )  # fmt: skip
    run = ScoreRun.objects.create(
        as_of=timezone.localdate(),
        status=ScoreRun.Status.DONE,
        finished_at=now,
        params={"segments": {"clv_threshold": 150.0, "crv_threshold": 20.0}},
    )
    for n, customer in enumerate(customers):
        high_clv = customer.segment in ("champions", "affluents")
        high_crv = customer.segment in ("champions", "advocates")
        ScoreSnapshot.objects.create(
            run=run, customer=customer, as_of=run.as_of, influence=float(5 + 3 * n),
            clv=Decimal(200 + 7 * n if high_clv else 50 + 3 * n), crv=Decimal(30 + n if high_crv else n % 10),
            referrals=n % 3, referrals_converted=n % 2, segment=customer.segment,
            sentiment_index=float(n % 40), nps_category=("promoter", "passive", "detractor")[n % 3],
        )  # fmt: skip
    return PER_SEGMENT


def test_marketer_changes_the_period_and_opens_a_segment_from_the_chart(
    live_server, page: Page, marketer: User, demo: dict[str, int], results_dir: Path
) -> None:
    outside = watch_origin(page, live_server.url)
    sign_in(page, live_server.url, "marketer")
    # Marketing users land on the dashboard.
    expect(page).to_have_url(re.compile(r"/insights/$"))
    expect(page.get_by_role("heading", name="Insights", level=1)).to_be_visible()
    expect(page.locator("script[src$='/static/vendor/chart.umd.js']")).to_have_count(1)

    # A preset period applies at once.
    page.get_by_label("Period", exact=True).select_option("90")
    expect(page).to_have_url(re.compile(r"period=90"))
    page.wait_for_function("() => document.documentElement.dataset.chartsReady === 'true'")
    expect(page.get_by_test_id("sentiment")).to_contain_text("inferred from public posts, not NPS")
    expect(page.locator("#quadrant-table tr[data-segment=champions]")).to_contain_text(str(demo["champions"]))
    page.screenshot(path=results_dir / "dashboard.png", full_page=True)
    print(f"dashboard screenshot: {results_dir / 'dashboard.png'}")

    # Click the "Affluents" bar where Chart.js drew it.
    segment = "affluents"
    index = SEGMENTS.index(segment)
    page.locator("#chart-quadrants").scroll_into_view_if_needed()
    where = page.evaluate(
        """(index) => {
            const chart = window.dashboardCharts.quadrants;
            const bar = chart.getDatasetMeta(0).data[index];
            const box = chart.canvas.getBoundingClientRect();
            return {x: box.left + bar.x, y: box.top + (bar.y + bar.base) / 2};
        }""",
        index,
    )
    page.mouse.click(where["x"], where["y"])
    expect(page).to_have_url(re.compile(rf"/insights/customers/\?segment={segment}$"))
    expect(page.get_by_role("heading", name="Scored customers", level=1)).to_be_visible()
    expect(page.locator("#result-count")).to_contain_text(f"{demo[segment]} customers")
    rows = page.locator("#scored tbody tr")
    expect(rows).to_have_count(demo[segment])
    for n in range(demo[segment]):
        expect(rows.nth(n)).to_have_attribute("data-segment", segment)
    expect(page.get_by_label("Segment", exact=True)).to_have_value(segment)

    # Back on the dashboard, a point of the scatter opens that customer's page.
    page.go_back()
    page.wait_for_function("() => document.documentElement.dataset.chartsReady === 'true'")
    page.locator("#chart-scatter").scroll_into_view_if_needed()
    point = page.evaluate(
        """() => {
            const chart = window.dashboardCharts.scatter;
            const element = chart.getDatasetMeta(0).data[0];
            const box = chart.canvas.getBoundingClientRect();
            return {x: box.left + element.x, y: box.top + element.y,
                    customer: chart.data.datasets[0].data[0].c};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    expect(page).to_have_url(re.compile(rf"/customers/{point['customer']}/$"))
    assert outside == [], f"requests outside the app: {outside}"


def test_dashboard_on_the_demo_data_screenshot(
    live_server, page: Page, marketer: User, results_dir: Path
) -> None:
    """What `make demo` loads (smaller): demo customers, the demo social stream, surveys,
    referrals, costs and objectives, then one score run; the dashboard shows every part of
    it and its screenshot is saved as test-results/dashboard-demo.png."""
    from io import StringIO

    from django.core.management import call_command

    quiet = {"stdout": StringIO(), "stderr": StringIO()}
    call_command("seed_demo", customers=400, seed=42, **quiet)
    call_command("seed_social", posts=240, days=40, **quiet)
    call_command("seed_insights", answers=300, referrals=80, **quiet)
    call_command("recompute_scores", **quiet)

    sign_in(page, live_server.url, "marketer")
    expect(page).to_have_url(re.compile(r"/insights/$"))
    page.wait_for_function("() => document.documentElement.dataset.chartsReady === 'true'")
    for part in ("sentiment",):
        expect(page.get_by_test_id(part)).to_be_visible()
    expect(page.locator("#quadrant-table tr[data-segment]")).to_have_count(4)
    page.screenshot(path=results_dir / "dashboard-demo.png", full_page=True)
    print(f"dashboard screenshot (demo data): {results_dir / 'dashboard-demo.png'}")
