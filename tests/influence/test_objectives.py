"""Objectives: validation, each metric measured on a history built by hand, the status
rules, and the page (who may use it, a bad value stores nothing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from influence.models import Objective, Referral, SurveyResponse
from influence.objectives import (
    Status,
    metric_measure,
    objective_create,
    objective_delete,
    objective_progress,
    objective_status,
    objective_update,
    objectives_with_progress,
)
from scrm.actors import Actor
from scrm.errors import ValidationFailed
from scrm.models import AuditEntry
from social.models import ListeningRule, PostRuleMatch
from tests.factories import CustomerFactory, SocialIdentityFactory
from tests.influence.test_service_metrics import case, post

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
AFTER = date(2025, 4, 10)  # March is over
MID_MARCH = date(2025, 3, 16)  # 16 of 31 days gone


def at(day: int, month: int = 3) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


def objective(metric: str, target: float, direction: str = "at_least", period=MARCH) -> Objective:
    return objective_create(
        name=f"{metric} {direction} {target}",
        metric=metric,
        direction=direction,
        target=target,
        period_start=period[0],
        period_end=period[1],
        actor=SYSTEM,
    )


# --- validation -------------------------------------------------------------------------------


RANGE = "A target for %s is between %s and %s."


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"metric": "nps", "target": 150}, "target", RANGE % ("NPS", -100, 100)),
        (
            {"metric": "nps_change", "target": -201},
            "target",
            RANGE % ("NPS change vs the previous period", -200, 200),
        ),
        ({"metric": "share_of_voice", "target": 120}, "target", RANGE % ("share of voice %", 0, 100)),
        ({"metric": "csat", "target": -1}, "target", RANGE % ("CSAT %", 0, 100)),
        (
            {"metric": "first_response_minutes", "target": -5},
            "target",
            "A target for median first response (minutes) cannot be below 0.",
        ),
        (
            {"metric": "referrals_converted", "target": 2.5},
            "target",
            "A number of referrals is a whole number.",
        ),
        ({"metric": "mood"}, "metric", "Choose a metric."),
        ({"direction": "about"}, "direction", "Choose “at least” or “at most”."),
        ({"name": "  "}, "name", "An objective needs a name."),
        ({"period_end": date(2025, 2, 28)}, "period_end", "The period cannot end before it starts."),
    ],
)
def test_validation(fields: dict, field: str, message: str) -> None:
    values = {
        "name": "NPS up",
        "metric": "nps",
        "direction": "at_least",
        "target": 10,
        "period_start": MARCH[0],
        "period_end": MARCH[1],
        **fields,
    }
    with pytest.raises(ValidationFailed) as raised:
        objective_create(actor=SYSTEM, **values)
    assert raised.value.field_errors == {field: [message]}
    assert not Objective.objects.exists()


def test_update_and_delete_are_audited() -> None:
    nps = objective("nps", 10)
    objective_update(
        objective=nps,
        name="NPS +5",
        metric="nps",
        direction="at_least",
        target=15,
        period_start=MARCH[0],
        period_end=date(2025, 4, 30),
        actor=SYSTEM,
    )
    nps.refresh_from_db()
    assert (nps.name, nps.target, nps.period_end) == ("NPS +5", 15, date(2025, 4, 30))
    with pytest.raises(ValidationFailed):
        objective_update(objective=nps, name="x", metric="nps", direction="at_least", target=101,
                         period_start=MARCH[0], period_end=MARCH[1], actor=SYSTEM)  # fmt: skip
    nps.refresh_from_db()
    assert nps.target == 15
    objective_delete(objective=nps, actor=SYSTEM)
    assert not Objective.objects.exists()
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["create", "update", "delete"]
    assert AuditEntry.objects.get(action="update").changes["target"] == ["10.0", "15.0"]


# --- measures on a history built by hand ----------------------------------------------------


def answers(kind: str, scores: list[int], when: datetime) -> None:
    for score in scores:
        SurveyResponse.objects.create(kind=kind, score=score, answered_at=when)


@pytest.fixture
def march() -> None:
    # NPS in March: 6 promoters, 2 passives, 2 detractors -> 40, n 10, SE 25.30, interval -9.6 .. 89.6.
    answers("nps", [9, 9, 10, 9, 10, 9, 7, 8, 3, 5], at(10))
    # The 31 days before (Jan 29 - Feb 28): one promoter, one detractor -> 0.
    answers("nps", [10, 2], at(10, 2))
    answers("nps", [0, 0, 0], at(28, 1))  # before that: not counted
    # CSAT: 3 of 4 satisfied -> 75 %.
    answers("csat", [5, 4, 4, 2], at(12))

    # Listening: 3 positive and 1 negative brand posts, 1 competitor post; index 50, voice 80 %.
    brand = ListeningRule.objects.create(name="Brand", kind=ListeningRule.Kind.BRAND)
    rival = ListeningRule.objects.create(name="Rival", kind=ListeningRule.Kind.COMPETITOR)
    author = SocialIdentityFactory()
    for label, rule in [("positive", brand)] * 3 + [("negative", brand), ("neutral", rival)]:
        matched = post(author, at(5), label)
        PostRuleMatch.objects.create(post=matched, rule=rule, kind=rule.kind, created_at=matched.created_at)

    # Service: first responses 30 and 90 min (median 60); 2 of 3 flagged posts answered;
    # two negative cases resolved, one recovered by a later non-negative post -> 50 %.
    happy, sad = SocialIdentityFactory(), SocialIdentityFactory()
    case(happy, at(3), first=30, resolved=120, label="negative")
    post(happy, at(4), "neutral")
    case(sad, at(3), first=90, resolved=240, label="negative")
    case(SocialIdentityFactory(), at(20), first=None, resolved=None, label="neutral")

    # Referrals: 3 converted in March, one in April, one never.
    for converted in (at(2), at(9), at(30), at(1, 4), None):
        Referral.objects.create(
            referrer=CustomerFactory(), referred=CustomerFactory(), type="1", converted_at=converted
        )


def test_each_metric_measured_over_the_period(march: None) -> None:
    nps = metric_measure("nps", *MARCH)
    assert (nps.value, nps.n, nps.indicative) == (40, 10, True)
    assert nps.ci_low == pytest.approx(40 - 1.96 * 25.2982, abs=1e-3)
    assert nps.ci_high == pytest.approx(40 + 1.96 * 25.2982, abs=1e-3)

    change = metric_measure("nps_change", *MARCH)
    assert (change.value, change.n, change.previous, change.previous_n) == (40, 10, 0, 2)
    assert change.differ is False  # 40 / sqrt(25.30^2 + 70.71^2) = 0.53 < 1.96

    assert (metric_measure("csat", *MARCH).value, metric_measure("csat", *MARCH).n) == (75, 4)
    sentiment = metric_measure("sentiment_index", *MARCH)
    assert (sentiment.value, sentiment.n) == (50, 4)
    voice = metric_measure("share_of_voice", *MARCH)
    assert (voice.value, voice.n) == (80, 5)
    first = metric_measure("first_response_minutes", *MARCH)
    assert (first.value, first.n) == (60, 2)
    rate = metric_measure("response_rate", *MARCH)
    assert (rate.value, rate.n) == (pytest.approx(200 / 3), 3)
    recovery = metric_measure("recovery_rate", *MARCH)
    assert (recovery.value, recovery.n) == (50, 2)
    referrals = metric_measure("referrals_converted", *MARCH)
    assert (referrals.value, referrals.n) == (3, 3)


@pytest.mark.parametrize(
    ("metric", "target", "direction", "today", "status"),
    [
        ("nps", 30, "at_least", AFTER, Status.MET),
        ("nps", 95, "at_least", AFTER, Status.MISSED),
        ("nps_change", 5, "at_least", AFTER, Status.MET),
        ("csat", 80, "at_least", AFTER, Status.MISSED),
        ("first_response_minutes", 60, "at_most", AFTER, Status.MET),
        ("first_response_minutes", 45, "at_most", MID_MARCH, Status.AT_RISK),
        ("response_rate", 70, "at_least", AFTER, Status.MISSED),
        ("recovery_rate", 50, "at_least", AFTER, Status.MET),
        ("sentiment_index", 60, "at_least", MID_MARCH, Status.AT_RISK),
        ("share_of_voice", 30, "at_least", MID_MARCH, Status.ON_TRACK),
        ("referrals_converted", 10, "at_least", MID_MARCH, Status.AT_RISK),  # 3 < 10 x 16/31
        ("referrals_converted", 5, "at_least", MID_MARCH, Status.ON_TRACK),  # 3 >= 5 x 16/31
        ("referrals_converted", 3, "at_least", MID_MARCH, Status.MET),  # reached: a count only grows
        ("referrals_converted", 2, "at_most", MID_MARCH, Status.MISSED),  # exceeded already
    ],
)
def test_status_of_each_metric(march: None, metric, target, direction, today, status) -> None:
    progress = objective_progress(objective(metric, target, direction), today=today)
    assert progress.status == status


def test_nps_says_not_significant_yet_when_the_target_is_inside_the_interval(march: None) -> None:
    inside = objective_progress(objective("nps", 30), today=AFTER)
    assert inside.significant is False and inside.n == 10 and inside.gap == 10
    outside = objective_progress(objective("nps", 95), today=AFTER)
    assert outside.significant is True
    assert objective_progress(objective("csat", 80), today=AFTER).significant is None


def test_progress_of_a_count_and_share_of_the_period(march: None) -> None:
    progress = objective_progress(objective("referrals_converted", 5), today=MID_MARCH)
    assert progress.progress == 60 and progress.elapsed == pytest.approx(16 / 31)


def test_no_data() -> None:
    january = (date(2024, 1, 1), date(2024, 1, 31))
    for metric in (
        "nps",
        "nps_change",
        "csat",
        "sentiment_index",
        "share_of_voice",
        "first_response_minutes",
    ):
        assert objective_progress(objective(metric, 10, period=january), today=AFTER).status == Status.NO_DATA
    # a count is 0, not unknown
    assert objective_progress(objective("referrals_converted", 1, period=january), today=AFTER).status == (
        Status.MISSED
    )


def test_status_before_and_at_the_edges() -> None:
    count = Objective(metric="referrals_converted", direction="at_least", target=10,
                      period_start=MARCH[0], period_end=MARCH[1])  # fmt: skip
    assert objective_status(count, 0, today=date(2025, 2, 1)) == (Status.ON_TRACK, 0)
    assert objective_status(count, 9, today=MARCH[1]) == (Status.AT_RISK, 1)
    assert objective_status(count, 9, today=MARCH[1] + timedelta(days=1)) == (Status.MISSED, 1)


# --- pages ----------------------------------------------------------------------------------------


def form_data(**fields: object) -> dict[str, object]:
    return {
        "name": "NPS +5 this quarter",
        "metric": "nps",
        "direction": "at_least",
        "target": "5",
        "period_start": "2025-01-01",
        "period_end": "2025-03-31",
        **fields,
    }


def test_pages_for_marketing_403_for_agents(client: Client, agent, marketer) -> None:
    nps = objective("nps", 10)
    client.force_login(agent)
    assert client.get("/insights/objectives/").status_code == 403
    assert client.post("/insights/objectives/", form_data()).status_code == 403
    assert client.get(f"/insights/objectives/{nps.pk}/").status_code == 403
    assert client.post(f"/insights/objectives/{nps.pk}/delete/").status_code == 403

    client.force_login(marketer)
    page = client.get("/insights/objectives/").content.decode()
    assert "NPS" in page and 'data-status="no_data"' in page and "New objective" in page
    today = timezone.localdate()
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    assert f'name="period_start" value="{quarter_start:%Y-%m-%d}"' in page  # this quarter by default
    roi = client.get("/insights/roi/").content.decode()
    assert 'id="roi-objectives"' in roi and nps.name in roi


def test_create_edit_delete_through_the_page(client: Client, marketer) -> None:
    client.force_login(marketer)
    created = client.post("/insights/objectives/", form_data())
    assert created.status_code == 302
    saved = Objective.objects.get()
    assert (saved.name, saved.target, saved.period_end, saved.created_by) == (
        "NPS +5 this quarter",
        5,
        date(2025, 3, 31),
        marketer,
    )
    edit = client.get(f"/insights/objectives/{saved.pk}/").content.decode()
    assert 'value="2025-03-31"' in edit
    refused = client.post(f"/insights/objectives/{saved.pk}/", form_data(target="-101"))
    assert (
        refused.status_code == 400 and "A target for NPS is between -100 and 100." in refused.content.decode()
    )
    saved.refresh_from_db()
    assert saved.target == 5
    assert client.post(f"/insights/objectives/{saved.pk}/", form_data(target="7")).status_code == 302
    saved.refresh_from_db()
    assert saved.target == 7
    assert client.post(f"/insights/objectives/{saved.pk}/delete/").status_code == 302
    assert not Objective.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"target": "150"}, "A target for NPS is between -100 and 100."),
        (
            {"metric": "share_of_voice", "target": "101"},
            "A target for share of voice % is between 0 and 100.",
        ),
        ({"target": "lots"}, "Enter a number."),
        ({"period_end": "2024-12-31"}, "The period cannot end before it starts."),
        ({"period_start": ""}, "Enter the first day of the period."),
    ],
)
def test_a_bad_value_shows_a_readable_message_and_stores_nothing(
    client: Client, marketer, fields: dict, message: str
) -> None:
    client.force_login(marketer)
    page = client.post("/insights/objectives/", form_data(**fields))
    assert page.status_code == 400
    html = page.content.decode()
    assert message in html and "The objective was not saved" in html
    assert 'value="NPS +5 this quarter"' in html  # what was typed stays
    assert not Objective.objects.exists()


def test_objectives_on_one_period_share_the_reads(march: None) -> None:
    objective("first_response_minutes", 60, "at_most")
    objective("sentiment_index", 10)
    with CaptureQueriesContext(connection) as one_each:
        objectives_with_progress(today=AFTER)
    for metric in ("response_rate", "recovery_rate", "share_of_voice"):
        objective(metric, 10)
    with CaptureQueriesContext(connection) as more:
        progress = objectives_with_progress(today=AFTER)
    assert len(progress) == 5
    assert len(more.captured_queries) == len(one_each.captured_queries)  # the objectives list read only
    assert {p.objective.metric: p.value for p in progress}["share_of_voice"] == 80
