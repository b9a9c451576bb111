"""Marketing dashboard: selectors on known data (NPS trend points, quadrants, referrals,
filters), the page by role, readable errors for bad filters, drill-down links that open
the customers / posts / answers counted, CSV exports and their formula neutralisation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.utils import timezone

from influence.dashboard import nps_figures, referral_figures
from influence.dashboard_filters import DashboardFilters, buckets, period_window
from influence.dashboard_scores import SCATTER_POINTS, score_figures
from influence.dashboard_views import posts_query
from influence.models import Referral, ScoreRun, ScoreSnapshot, SurveyResponse
from influence.rollups import rollups_refresh
from influence.selectors import nps_from_counts, nps_summary
from social.models import ListeningRule
from tests.factories import CustomerFactory, SocialIdentityFactory
from tests.influence.test_rollups import make_post

SEGMENTS = ("champions", "affluents", "advocates", "misers")


def answer(score, day, *, customer=None, campaign=""):
    return SurveyResponse.objects.create(
        kind="nps",
        score=score,
        customer=customer,
        campaign=campaign,
        answered_at=datetime(2026, 3, day, 12, tzinfo=UTC),
    )


def scored_run(customers, *, params=None, as_of=date(2026, 3, 10)):
    run = ScoreRun.objects.create(
        as_of=as_of, status=ScoreRun.Status.DONE, finished_at=timezone.now(), params=params or {}
    )
    for n, customer in enumerate(customers):
        ScoreSnapshot.objects.create(
            run=run,
            customer=customer,
            as_of=as_of,
            influence=float(10 * (n % 10)),
            clv=Decimal(100 + n),
            crv=Decimal(n % 7),
            referrals=n % 3,
            referrals_converted=n % 2,
            segment=customer.segment,
            sentiment_index=50.0,
            nps_category="promoter" if n % 2 else "detractor",
        )
    return run


# --- selectors ----------------------------------------------------------------------------


def test_periods_and_buckets():
    today = date(2026, 5, 20)
    assert period_window("7", today) == (date(2026, 5, 14), today)
    assert period_window("30", today) == (date(2026, 4, 21), today)
    assert period_window("quarter", today) == (date(2026, 4, 1), today)
    weeks = buckets(date(2026, 3, 4), date(2026, 3, 20), "week")  # Wednesday to a Friday
    assert [(b.start.day, b.end.day) for b in weeks] == [(4, 8), (9, 15), (16, 20)]
    months = buckets(date(2026, 1, 15), date(2026, 3, 2), "month")
    assert [(b.start, b.end) for b in months] == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 2)),
    ]


def test_nps_trend_points_with_their_interval(db, settings):
    settings.TIME_ZONE = "UTC"
    alice, bob = CustomerFactory(segment="champions"), CustomerFactory(segment="misers")
    answer(3, 2, customer=alice)  # replaced by Alice's later answer in the same week
    answer(10, 4, customer=alice)
    answer(9, 3, customer=bob, campaign="spring")
    answer(2, 10)  # no customer: counts
    answer(8, 11, customer=bob)
    filters = DashboardFilters(since=date(2026, 3, 2), until=date(2026, 3, 15), period="custom")
    figures = nps_figures(filters)
    assert figures.unit == "week"
    assert [p.bucket.start for p in figures.trend] == [date(2026, 3, 2), date(2026, 3, 9)]
    first, second = (p.summary for p in figures.trend)
    assert first == nps_from_counts(2, 0, 0)  # Alice 10, Bob 9
    assert second == nps_from_counts(0, 1, 1)  # anonymous 2, Bob 8
    assert second.indicative and second.ci_low is not None
    # Over the period: Alice 10, Bob's latest 8, anonymous 2.
    assert figures.overall == nps_from_counts(1, 1, 1)
    spring = nps_figures(DashboardFilters(since=filters.since, until=filters.until, campaign="spring"))
    assert spring.overall == nps_from_counts(1, 0, 0)
    champions = nps_figures(DashboardFilters(since=filters.since, until=filters.until, segment="champions"))
    assert champions.overall == nps_from_counts(1, 0, 0)
    # The same as the survey selectors, window by window.
    for point in figures.trend:
        start = datetime.combine(point.bucket.start, datetime.min.time(), tzinfo=UTC)
        assert point.summary == nps_summary(since=start, until=start + timedelta(days=7))


def test_quadrants_top_lists_and_thresholds(db):
    customers = [CustomerFactory(segment=SEGMENTS[n % 4]) for n in range(12)]
    run = scored_run(customers, params={"segments": {"clv_threshold": 105.5, "crv_threshold": 3}})
    figures = score_figures(DashboardFilters(since=date(2026, 3, 1), until=date(2026, 3, 31)))
    assert figures is not None and figures.run == run
    quadrants = figures.quadrants
    assert quadrants.counts == {"champions": 3, "affluents": 3, "advocates": 3, "misers": 3}
    assert (quadrants.clv_threshold, quadrants.crv_threshold) == (105.5, 3.0)
    assert len(quadrants.points) == 12 and not quadrants.sampled
    crvs = [a.crv for a in figures.advocates]
    assert crvs == sorted(crvs, reverse=True) and 0 not in crvs
    assert figures.influencers[0].influence == 90.0
    only = score_figures(DashboardFilters(since=date(2026, 3, 1), until=date(2026, 3, 31), segment="misers"))
    assert (
        only is not None and only.quadrants.counts["misers"] == 3 and only.quadrants.counts["champions"] == 0
    )


def test_thresholds_missing_and_no_run(db):
    filters = DashboardFilters(since=date(2026, 3, 1), until=date(2026, 3, 31))
    assert score_figures(filters) is None
    ScoreRun.objects.create(as_of=date(2026, 3, 11), status=ScoreRun.Status.RUNNING)  # not finished
    assert score_figures(filters) is None
    scored_run([CustomerFactory(segment="misers")])
    figures = score_figures(filters)
    assert figures is not None
    assert (figures.quadrants.clv_threshold, figures.quadrants.crv_threshold) == (None, None)


def test_scatter_is_a_stable_sample(db, monkeypatch):
    monkeypatch.setattr("influence.dashboard_scores.SCATTER_POINTS", 5)
    scored_run([CustomerFactory(segment="misers") for _ in range(12)])
    filters = DashboardFilters(since=date(2026, 3, 1), until=date(2026, 3, 31))
    first = score_figures(filters)
    assert first is not None
    points = first.quadrants.points
    assert len(points) <= 5 and first.quadrants.sampled and first.quadrants.total == 12
    from django.core.cache import cache

    cache.clear()
    again = score_figures(filters)
    assert again is not None and again.quadrants.points == points
    assert SCATTER_POINTS == 1500


def test_referral_figures(db, settings):
    settings.TIME_ZONE = "UTC"
    referrer = CustomerFactory(segment="advocates")
    other = CustomerFactory(segment="misers")
    moment = datetime(2026, 3, 5, 10, tzinfo=UTC)
    common = {"type": "1", "referred_at": moment}
    Referral.objects.create(
        referrer=referrer, referred=CustomerFactory(), converted_at=moment, value=Decimal("120.50"),
        reward_amount=Decimal(10), reward_paid_at=moment, campaign="spring", **common,
    )  # fmt: skip
    Referral.objects.create(referrer=referrer, referred=CustomerFactory(), **common)
    Referral.objects.create(
        referrer=other, referred=CustomerFactory(), converted_at=moment, value=5, **common
    )
    Referral.objects.create(
        referrer=other, referred=CustomerFactory(), type="1", referred_at=moment - timedelta(days=30)
    )
    filters = DashboardFilters(since=date(2026, 3, 1), until=date(2026, 3, 31))
    figures = referral_figures(filters)
    assert (figures.referrals, figures.converted, figures.value) == (3, 2, Decimal("125.50"))
    assert (figures.rewards_paid, figures.rewards_paid_n) == (Decimal(10), 1)
    assert figures.conversion_rate == pytest.approx(200 / 3)
    advocates = referral_figures(
        DashboardFilters(since=filters.since, until=filters.until, segment="advocates")
    )
    assert (advocates.referrals, advocates.converted) == (2, 1)
    spring = referral_figures(DashboardFilters(since=filters.since, until=filters.until, campaign="spring"))
    assert spring.referrals == 1


# --- pages --------------------------------------------------------------------------------


@pytest.fixture
def board(db, settings):
    """Posts, answers, a run and a referral in March 2026 (Paris days)."""
    settings.TIME_ZONE = "Europe/Paris"
    brand = ListeningRule.objects.create(name="Acme", kind="brand", keywords=["acme"], campaign="spring")
    globex = ListeningRule.objects.create(name="Globex", kind="competitor", keywords=["globex"])
    customers = [CustomerFactory(segment=SEGMENTS[n % 4], first_name=f"C{n}") for n in range(8)]
    identity = SocialIdentityFactory(customer=customers[0])
    stranger = SocialIdentityFactory(customer=None)
    make_post(1, identity, 2, 8, "positive", rules=[brand])
    make_post(2, stranger, 2, 9, "negative", rules=[brand], network="facebook")
    make_post(3, stranger, 3, 9, "neutral", rules=[brand, globex])
    make_post(4, stranger, 4, 9, "negative", rules=[globex])
    rollups_refresh(days=None)
    answer(10, 3, customer=customers[0])
    answer(4, 4, customer=customers[1])
    scored_run(customers)
    return {"brand": brand, "globex": globex, "customers": customers}


MARCH = {"period": "custom", "since": "2026-03-01", "until": "2026-03-31"}


def test_dashboard_page_for_marketing(client, marketer, board):
    client.force_login(marketer)
    response = client.get("/insights/", MARCH)
    assert response.status_code == 200
    page = response.content.decode()
    assert "inferred from public posts, not NPS" in page
    assert 'id="dashboard-data"' in page and "vendor/chart.umd.js" in page
    assert "cdn" not in page.lower()
    board_ = response.context["board"]
    assert board_.sentiment.overall.total == 3
    assert (board_.voice.overall.brand, board_.voice.overall.competitor) == (3, 2)  # post 3 in both
    assert board_.nps.overall.n == 2
    assert "n = 3" in page and "n = 2" in page
    data = response.context["chart_data"]
    assert len(data["scatter"]["points"]) == 8 and data["quadrants"]["values"] == [2, 2, 2, 2]


def test_marketing_lands_on_the_dashboard_agents_do_not(client, marketer, agent, admin_user, db):
    client.force_login(marketer)
    assert client.get("/").url == "/insights/"
    nav = [str(item["label"]) for item in client.get("/", follow=True).context["nav_items"]]
    assert "Insights" in nav
    client.force_login(agent)
    assert client.get("/").status_code == 200
    assert client.get("/insights/").status_code == 403
    assert client.get("/insights/customers/").status_code == 403
    assert client.get("/insights/surveys/").status_code == 403
    client.force_login(admin_user)
    assert client.get("/").status_code == 200
    assert client.get("/insights/").status_code == 200


def test_empty_states(client, marketer, db):
    client.force_login(marketer)
    page = client.get("/insights/").content.decode()
    assert "Scores have not been computed yet" in page
    assert "No survey answer in this period." in page
    assert "Scores have not been computed yet" in client.get("/insights/customers/").content.decode()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"period": "custom", "since": "2026-03-10", "until": "2026-03-01"}, "until", "on or after"),
        ({"period": "custom", "since": "yesterday"}, "since", "valid date"),
        ({"period": "12"}, "period", "valid choice"),
        ({"network": "myspace"}, "network", "valid choice"),
        ({"segment": "whales"}, "segment", "valid choice"),
        ({"period": "custom", "since": "2020-01-01", "until": "2026-01-01"}, "since", "at most"),
    ],
)
def test_bad_filters_get_a_readable_message(client, marketer, db, query, field, message):
    client.force_login(marketer)
    response = client.get("/insights/", query)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()


def test_filters_are_kept_in_the_drill_down_links(client, marketer, board):
    client.force_login(marketer)
    response = client.get(
        "/insights/", {**MARCH, "network": "x", "segment": "champions", "campaign": "spring"}
    )
    assert response.status_code == 200
    for url in response.context["chart_data"]["sentiment"]["urls"]:
        query = dict(parse_qsl(urlsplit(url).query))
        assert (query["network"], query["segment"], query["campaign"]) == ("x", "champions", "spring")
    answers = dict(parse_qsl(urlsplit(response.context["links"]["answers"]).query))
    assert answers == {
        "since": "2026-03-01",
        "until": "2026-03-31",
        "segment": "champions",
        "campaign": "spring",
    }


def _drill_posts(client, url):
    parts = urlsplit(url)
    assert parts.path == "/social/posts/"
    response = client.get(parts.path, dict(parse_qsl(parts.query)))
    assert response.status_code == 200
    return {int(post.external_id) for post in response.context["page"].object_list}


def test_every_chart_point_opens_what_it_counts(client, marketer, board):
    client.force_login(marketer)
    response = client.get("/insights/", MARCH)
    data = response.context["chart_data"]
    counted = {
        label: _drill_posts(client, url)
        for label, url, n in zip(
            data["sentiment"]["labels"], data["sentiment"]["urls"], data["sentiment"]["n"], strict=True
        )
        if n
    }
    assert counted == {"2026-03-02": {1, 2}, "2026-03-03": {3}}
    voice = dict(zip(data["voice"]["labels"], data["voice"]["urls"], strict=True))
    assert _drill_posts(client, voice["Brand"]) == {1, 2, 3}
    assert _drill_posts(client, voice["Globex"]) == {3, 4}
    # Quadrant bars open the scored customers of that segment.
    for segment, url in zip(data["quadrants"]["segments"], data["quadrants"]["urls"], strict=True):
        listed = client.get(url).context["page"].object_list
        assert {s.segment for s in listed} == {segment} and len(listed) == 2
    # NPS points open the answers they count.
    with_answers = [url for url, n in zip(data["nps"]["urls"], data["nps"]["n"], strict=True) if n]
    scores = {a.score for url in with_answers for a in client.get(url).context["page"].object_list}
    assert scores == {10, 4}


def test_posts_list_filters_by_campaign_and_segment(client, marketer, board):
    client.force_login(marketer)
    filters = DashboardFilters(since=date(2026, 3, 1), until=date(2026, 3, 31))
    query = posts_query(filters, filters.since, filters.until)
    assert _drill_posts(client, "/social/posts/?" + urlencode({k: v for k, v in query.items() if v})) == {
        1,
        2,
        3,
    }
    assert _drill_posts(client, "/social/posts/?campaign=spring&kind=brand") == {1, 2, 3}
    assert _drill_posts(client, "/social/posts/?campaign=spring&kind=competitor") == set()
    assert _drill_posts(client, "/social/posts/?segment=champions") == {1}


def test_scored_customers_list_filters_sort_and_csv(client, marketer, agent, board):
    client.force_login(marketer)
    response = client.get("/insights/customers/", {"segment": "champions", "sort": "clv"})
    rows = list(response.context["page"].object_list)
    assert [s.segment for s in rows] == ["champions", "champions"]
    assert [s.clv for s in rows] == sorted(s.clv for s in rows)
    assert client.get("/insights/customers/", {"min_influence": "500"}).status_code == 400
    promoters = client.get("/insights/customers/", {"nps_category": "promoter"}).context["page"]
    assert {s.nps_category for s in promoters.object_list} == {"promoter"}
    board["customers"][0].first_name = "=HYPERLINK(evil)"
    board["customers"][0].save()
    export = client.get("/insights/customers/", {"format": "csv", "segment": "champions"})
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["customer", "name", "segment"] and len(table) == 3
    assert any(row[1].startswith("'=HYPERLINK") for row in table[1:])


def test_csv_export_needs_the_export_permission(client, marketer, board):
    from django.contrib.auth.models import Permission

    marketer.groups.first().permissions.remove(Permission.objects.get(codename="export_customer"))
    client.force_login(marketer)
    assert client.get("/insights/customers/", {"format": "csv"}).status_code == 403


def test_survey_answers_list_and_csv(client, marketer, board):
    client.force_login(marketer)
    response = client.get("/insights/surveys/", {"since": "2026-03-01", "until": "2026-03-31"})
    assert {a.score for a in response.context["page"].object_list} == {10, 4}
    export = client.get("/insights/surveys/", {"since": "2026-03-01", "until": "2026-03-31", "format": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 3
    bad = client.get("/insights/surveys/", {"since": "2026-03-31", "until": "2026-03-01"})
    assert bad.status_code == 400 and "on or after" in bad.content.decode()


def test_dashboard_queries_do_not_grow_with_the_data(client, marketer, board, django_assert_max_num_queries):
    client.force_login(marketer)
    client.get("/insights/", MARCH)
    with django_assert_max_num_queries(25):
        client.get("/insights/", MARCH)


def test_customer_and_post_lists_export_what_they_show(client, marketer, agent, board):
    client.force_login(marketer)
    board["customers"][1].last_name = "@SUM(A1)"
    board["customers"][1].save()
    page = client.get("/customers/", {"q": "C1"}).content.decode()
    assert "format=csv" in page
    export = client.get("/customers/", {"format": "csv", "segment": "affluents"})
    table = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert table[0][:3] == ["id", "first_name", "last_name"]
    assert {row[6] for row in table[1:]} == {"affluents"} and len(table) == 3
    assert "'@SUM(A1)" in {row[2] for row in table}
    posts = client.get("/social/posts/", {"format": "csv", "sentiment": "negative"})
    rows = list(csv.reader(io.StringIO(b"".join(posts.streaming_content).decode("utf-8-sig"))))
    assert {row[2] for row in rows[1:]} == {"2", "4"} and rows[0][7] == "sentiment"
    client.force_login(agent)  # agents see the list, not the export
    assert client.get("/customers/", {"format": "csv"}).status_code == 403
    assert client.get("/customers/").status_code == 200


def test_the_cached_dashboard_follows_new_data_at_once(db):
    """The figures are cached under the data's version: a new answer, a reward paid or a
    rollup rebuild shows on the very next view, not a minute later."""
    from influence.dashboard import dashboard

    answer(10, 5)
    filters = DashboardFilters(since=date(2026, 3, 1), until=date(2026, 3, 31), period="custom")
    first = dashboard(filters)
    assert first.nps.overall.n == 1
    assert dashboard(filters).nps.overall.n == 1  # served from the cache
    answer(0, 6)
    assert dashboard(filters).nps.overall.n == 2
    referrer, referred = CustomerFactory(), CustomerFactory()
    referral = Referral.objects.create(
        referrer=referrer, referred=referred, type="1", referred_at=datetime(2026, 3, 7, tzinfo=UTC),
        converted_at=datetime(2026, 3, 8, tzinfo=UTC), reward_amount=Decimal("10"),
    )  # fmt: skip
    assert dashboard(filters).referrals.rewards_paid == 0
    Referral.objects.filter(pk=referral.pk).update(reward_paid_at=datetime(2026, 3, 9, tzinfo=UTC))
    assert dashboard(filters).referrals.rewards_paid == Decimal("10")
