"""Service metrics on a history built by hand, with answers worked out beforehand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from influence.models import SurveyResponse
from influence.service_metrics import cases_with_recovery, percentile, service_report
from social.models import Case, ListeningRule, Post, PostRuleMatch, Reply
from tests.factories import CustomerFactory, SocialIdentityFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # a Monday, ISO week 41
NOW = T0 + timedelta(days=30)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
_ids = itertools.count(1)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def post(author, at: datetime, label: str, case: Case | None = None, **fields: object) -> Post:
    score = {"negative": -0.6, "neutral": 0.0, "positive": 0.7}[label]
    values = {
        "network": "x",
        "external_id": f"p{next(_ids)}",
        "author": author,
        "created_at": at,
        "sentiment": score,
        "sentiment_label": label,
        "sentiment_model": "test",
        "source": Post.Source.API,
        "case": case,
        "flagged": case is not None,
    }
    values.update(fields)
    return Post.objects.create(**values)


def case(
    author,
    opened: datetime,
    *,
    first: float | None,
    resolved: float | None,
    label: str,
    assignee: User | None = None,
    network: str = "x",
    first_due: float = 30,
    resolution_due: datetime | float = 480,
) -> Case:
    due = resolution_due if isinstance(resolution_due, datetime) else opened + minutes(resolution_due)
    created = Case.objects.create(
        network=network,
        conversation=f"c{next(_ids)}",
        author=author,
        opened_at=opened,
        last_post_at=opened,
        first_response_at=opened + minutes(first) if first is not None else None,
        resolved_at=opened + minutes(resolved) if resolved is not None else None,
        status=Case.Status.RESOLVED if resolved is not None else Case.Status.OPEN,
        first_response_due_at=opened + minutes(first_due),
        resolution_due_at=due,
        assignee=assignee,
    )
    post(author, opened, label, created, network=network)
    return created


@pytest.fixture
def history(agent: User, make_user) -> dict[str, Case]:
    alice, bob = agent, make_user("bob", "agent")
    marie = CustomerFactory()
    marie_x = SocialIdentityFactory(customer=marie, network="x")
    marie_fb = SocialIdentityFactory(customer=marie, network="facebook")
    paul_x = SocialIdentityFactory(network="x")
    stranger = SocialIdentityFactory(network="x", customer=None)
    zoe_x = SocialIdentityFactory(network="x")
    competitor = ListeningRule.objects.create(name="Rival", kind=ListeningRule.Kind.COMPETITOR)
    week_later = T0 + timedelta(days=7)

    cases = {
        # recovered: the same identity posts positively the next day
        "c1": case(marie_x, T0, first=10, resolved=120, label="negative", assignee=alice),
        # recovered through the customer's other identity (neutral counts as non-negative)
        "c2": case(paul_x, T0, first=20, resolved=300, label="negative", assignee=alice, resolution_due=240),
        # not recovered: a later negative post and a passive NPS
        "c3": case(zoe_x, T0, first=40, resolved=180, label="negative", assignee=bob),
        # recovered: unlinked author, a satisfied CSAT answered for this case
        "c4": case(stranger, T0, first=60, resolved=360, label="negative", assignee=bob),
        # never answered, SLA both missed, not negative
        "c5": case(
            SocialIdentityFactory(network="facebook"),
            T0,
            first=None,
            resolved=None,
            label="neutral",
            network="facebook",
        ),
        # answered exactly on time; resolution not due yet
        "c6": case(
            zoe_x,
            T0 + minutes(5),
            first=30,
            resolved=None,
            label="positive",
            assignee=alice,
            resolution_due=FAR,
        ),
        # next week; not recovered: positive only before resolution, and later only about a competitor
        "c7": case(marie_x, week_later, first=15, resolved=240, label="negative", assignee=alice),
    }
    post(marie_x, T0 + timedelta(days=1), "positive")  # recovers c1 (c7 opens later)
    post(
        SocialIdentityFactory(customer=paul_x.customer, network="facebook"),
        T0 + timedelta(days=1),
        "neutral",
        network="facebook",
    )
    post(zoe_x, T0 + timedelta(days=1), "negative")
    SurveyResponse.objects.create(
        kind="nps", score=7, customer=zoe_x.customer, answered_at=T0 + timedelta(days=1)
    )
    SurveyResponse.objects.create(kind="csat", score=5, case=cases["c4"], answered_at=T0 + timedelta(days=1))
    post(stranger, T0 - timedelta(days=1), "positive")  # before c4: does not count
    post(
        SocialIdentityFactory(network="facebook"), T0, "neutral", cases["c5"], network="facebook"
    )  # 2nd flagged
    post(marie_fb, week_later + minutes(60), "positive")  # c7: before its resolution
    rival = post(marie_fb, week_later + timedelta(days=1), "positive")
    PostRuleMatch.objects.create(
        post=rival, rule=competitor, kind=competitor.kind, created_at=rival.created_at
    )
    post(marie_x, week_later + timedelta(days=1), "positive", from_brand=True)  # as the brand: ignored
    # A reply still queued is no answer; c1's sent one does not change it (it has a first response).
    Reply.objects.create(case=cases["c5"], key="k1", text="hi", in_reply_to="x", status=Reply.Status.QUEUED)
    Reply.objects.create(
        case=cases["c1"],
        key="k2",
        text="hi",
        in_reply_to="x",
        status=Reply.Status.SENT,
        sent_at=T0 + minutes(10),
    )
    return cases


def test_percentile_interpolates_like_percentile_cont() -> None:
    assert percentile([10, 15, 20, 30, 40, 60], 0.5) == 25
    assert percentile([10, 15, 20, 30, 40, 60], 0.9) == pytest.approx(50)
    assert percentile([7], 0.9) == 7
    assert percentile([], 0.5) is None


def test_overall_figures(history: dict[str, Case]) -> None:
    overall = service_report(since=T0 - timedelta(days=1), until=NOW, now=NOW).overall

    assert overall.cases == 7
    # first responses 10, 15, 20, 30, 40, 60 minutes
    assert (overall.first_response.n, overall.first_response.median) == (6, 25)
    assert overall.first_response.p90 == pytest.approx(50)
    # resolutions 120, 180, 240, 300, 360 minutes
    assert (overall.resolution.n, overall.resolution.median) == (5, 240)
    assert overall.resolution.p90 == pytest.approx(336)
    # first response due after 30 min: c1, c2, c6 (exactly 30), c7 met; c3, c4 late; c5 never answered
    assert (overall.first_response_sla.hits, overall.first_response_sla.n) == (4, 7)
    # c6 is not resolved and not yet due: not counted; c2 and c5 missed
    assert (overall.resolution_sla.hits, overall.resolution_sla.n) == (4, 6)
    # 8 flagged posts, the two of c5 unanswered
    assert (overall.response_rate.hits, overall.response_rate.n) == (6, 8)
    assert overall.response_rate.percent == 75
    # negative resolved: c1, c2, c3, c4, c7; recovered c1, c2, c4
    assert (overall.recovery.hits, overall.recovery.n) == (3, 5)
    assert overall.recovery.percent == 60


def test_recovery_per_case(history: dict[str, Case]) -> None:
    rows = {
        row.pk: row.recovered_by_post or row.recovered_by_survey
        for row in cases_with_recovery().filter(negative=True, resolved_at__isnull=False)
    }
    expected = {"c1": True, "c2": True, "c3": False, "c4": True, "c7": False}
    assert rows == {history[name].pk: recovered for name, recovered in expected.items()}


def test_a_promoter_answer_after_resolution_recovers_the_case(history: dict[str, Case]) -> None:
    c3 = history["c3"]
    SurveyResponse.objects.create(
        kind="nps", score=9, customer=c3.author.customer, answered_at=T0 + timedelta(days=2)
    )
    assert service_report(until=NOW, now=NOW).overall.recovery.hits == 4


def test_breakdowns_per_agent_network_and_week(history: dict[str, Case]) -> None:
    report = service_report(until=NOW, now=NOW)

    agents = dict(report.by_agent)
    assert set(agents) == {"agent", "bob", ""}
    assert agents["agent"].cases == 4 and agents["bob"].cases == 2 and agents[""].cases == 1
    assert agents["bob"].first_response.median == 50
    assert (agents["agent"].recovery.hits, agents["agent"].recovery.n) == (2, 3)
    networks = dict(report.by_network)
    assert (networks["facebook"].response_rate.hits, networks["facebook"].response_rate.n) == (0, 2)
    assert networks["x"].cases == 6
    weeks = dict(report.by_week)
    assert [name for name, _f in report.by_week] == ["2026-W41", "2026-W42"]
    assert weeks["2026-W41"].cases == 6 and weeks["2026-W42"].cases == 1


def test_filters_on_opened_at_and_network(history: dict[str, Case]) -> None:
    later = service_report(since=T0 + timedelta(days=1), until=NOW, now=NOW).overall
    assert later.cases == 1 and later.first_response.median == 15
    facebook = service_report(until=NOW, network="facebook", now=NOW).overall
    assert facebook.cases == 1 and facebook.first_response.n == 0
    assert (facebook.first_response_sla.hits, facebook.first_response_sla.n) == (0, 1)
