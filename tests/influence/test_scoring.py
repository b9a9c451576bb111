"""The score recompute end to end: snapshots for every live customer, segments on the
run's thresholds, the customer record's segment kept in step, reruns, one run at a time,
the command, the API and the 360 panel."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from customers.merge import customer_merge
from customers.models import Customer
from influence.models import Referral, ScoreRun, ScoreSnapshot, Segment, SurveyResponse
from influence.scoring import LOCK_KEY, ScoresBusy, scores_recompute
from scrm.actors import Actor
from social.models import ListeningRule, Post, PostRuleMatch, SocialEdge
from tests.factories import CustomerFactory, PurchaseFactory, SocialIdentityFactory

pytestmark = pytest.mark.django_db


def _post(n: int, author, *, days_ago: int, label: str, rule: ListeningRule, likes: int = 0) -> Post:
    created = timezone.now() - timedelta(days=days_ago)
    post = Post.objects.create(
        network="x", external_id=f"p{n}", author=author, text=f"post {n}", language="en",
        created_at=created, sentiment={"positive": 0.6, "neutral": 0.0, "negative": -0.6}[label],
        sentiment_label=label, sentiment_model="test", source="api", likes=likes,
    )  # fmt: skip
    PostRuleMatch.objects.create(post=post, rule=rule, kind=rule.kind, created_at=created)
    return post


@pytest.fixture
def history() -> dict[str, object]:
    """60 buyers with a year of purchases (a seeded random history, enough for the models to
    fit), three people on X who talk about the brand, a referral, an NPS answer, a merge."""
    rng = random.Random(7)
    now = timezone.now()
    buyers = []
    for i in range(60):
        customer = CustomerFactory(first_name=f"Buyer{i}", created_at=now - timedelta(days=400))
        first = rng.randint(60, 360)
        days = sorted({first, *(rng.randint(1, first) for _ in range(rng.randint(0, 6)))}, reverse=True)
        for day in days:
            amount = Decimal(rng.randint(20, 200))
            PurchaseFactory(
                customer=customer, amount=amount, margin=amount * Decimal("0.3"),
                purchased_at=now - timedelta(days=day),
            )  # fmt: skip
        buyers.append(customer)
    brand = ListeningRule.objects.create(name="Acme", kind="brand", keywords=["acme"])
    alice = SocialIdentityFactory(handle="alice", customer=buyers[0], followers_count=25_000)
    bob = SocialIdentityFactory(handle="bob", customer=buyers[1], followers_count=120)
    carol = SocialIdentityFactory(handle="carol", customer=None, followers_count=40)
    for n, (author, label, likes) in enumerate(
        [(alice, "positive", 40), (alice, "positive", 12), (alice, "negative", 3), (bob, "neutral", 0)]
    ):
        _post(n, author, days_ago=n + 1, label=label, rule=brand, likes=likes)
    seen = timezone.now() - timedelta(days=2)
    for source, target, weight in [(bob, alice, 3), (carol, alice, 1), (alice, bob, 1)]:
        SocialEdge.objects.create(
            source=source, target=target, kind="mention", weight=weight, first_seen=seen, last_seen=seen
        )
    friend = CustomerFactory(first_name="Friend", created_at=now - timedelta(days=50))
    Referral.objects.create(
        referrer=buyers[0], referred=friend, channel="code", type="1",
        referred_at=now - timedelta(days=45), reward_amount=Decimal("10"),
    )  # fmt: skip
    PurchaseFactory(
        customer=friend, amount=Decimal("120"), margin=Decimal("40"), purchased_at=now - timedelta(days=40)
    )
    for customer, score in [(buyers[0], 10), (buyers[2], 3)]:
        SurveyResponse.objects.create(
            customer=customer, kind="nps", score=score, answered_at=now - timedelta(days=3)
        )
    twin = CustomerFactory(first_name="Twin")
    customer_merge(survivor=buyers[5], other=twin, actor=Actor.system("test"))
    return {"buyers": buyers, "friend": friend, "twin": twin, "brand": brand}


def test_every_live_customer_gets_one_snapshot_with_segments_on_the_run_thresholds(history) -> None:
    run = scores_recompute(trigger="test")

    assert run.status == ScoreRun.Status.DONE
    live = Customer.objects.filter(merged_into__isnull=True)
    assert run.customers == live.count() == ScoreSnapshot.objects.filter(run=run).count()
    assert not ScoreSnapshot.objects.filter(customer=history["twin"]).exists()
    assert sum(run.summary["segments"].values()) == run.customers
    thresholds = run.params["segments"]
    for snapshot in ScoreSnapshot.objects.filter(run=run).select_related("customer"):
        assert snapshot.customer.segment == snapshot.segment  # the record follows, for the filters
        assert snapshot.clv_basis in {"model", "cohort"}
        if abs(float(snapshot.clv or 0) - thresholds["clv_threshold"]) < 0.01:
            continue  # stored to the cent: too close to the threshold to tell from here
        high_clv = float(snapshot.clv or 0) > thresholds["clv_threshold"]
        high_crv = float(snapshot.crv or 0) > thresholds["crv_threshold"]
        expected = {
            (True, True): Segment.CHAMPIONS,
            (True, False): Segment.AFFLUENTS,
            (False, True): Segment.ADVOCATES,
            (False, False): Segment.MISERS,
        }[(high_clv, high_crv)]
        assert snapshot.segment == expected


def test_influence_sentiment_and_nps_category_land_on_the_right_customers(history) -> None:
    buyers = history["buyers"]
    run = scores_recompute(trigger="test")
    alice = ScoreSnapshot.objects.get(run=run, customer=buyers[0])
    bob = ScoreSnapshot.objects.get(run=run, customer=buyers[1])
    nobody = ScoreSnapshot.objects.get(run=run, customer=buyers[3])

    assert alice.influence is not None and bob.influence is not None
    assert alice.influence > bob.influence  # more central, more followers, more engagement
    assert set(alice.influence_components) >= {
        "pagerank",
        "reach",
        "engagement",
        "participation",
        "sentiment",
    }
    assert nobody.influence is None and nobody.influence_components == {}
    # Alice: 2 positive, 1 negative brand posts -> 100 (2 - 1) / 3.
    assert (alice.sentiment_positive, alice.sentiment_negative, alice.sentiment_posts) == (2, 1, 3)
    assert alice.sentiment_index == pytest.approx(100 / 3)
    assert nobody.sentiment_index is None
    assert alice.nps_category == "promoter"
    assert ScoreSnapshot.objects.get(run=run, customer=buyers[2]).nps_category == "detractor"
    assert alice.referrals == 1 and alice.referrals_converted == 1
    assert alice.crv is not None and alice.crv > 0
    assert Referral.objects.get().value is not None  # valued for the ROI page


def test_a_second_run_the_same_day_replaces_the_snapshots(history) -> None:
    first = scores_recompute(trigger="test")
    second = scores_recompute(trigger="test")

    assert not ScoreSnapshot.objects.filter(run=first).exists()
    assert ScoreSnapshot.objects.filter(run=second).count() == second.customers
    assert ScoreSnapshot.objects.count() == second.customers


def test_one_run_at_a_time(history) -> None:
    cache.add(LOCK_KEY, "1", 60)
    with pytest.raises(ScoresBusy):
        scores_recompute(trigger="test")
    assert not ScoreRun.objects.exists()
    with pytest.raises(CommandError, match="already being recomputed"):
        call_command("recompute_scores", stdout=StringIO(), stderr=StringIO())


def test_the_command_reports_what_it_did(history) -> None:
    out = StringIO()
    call_command("recompute_scores", "--no-rollups", stdout=out, stderr=StringIO())
    run = ScoreRun.objects.get()
    assert f"(run {run.pk}): {run.customers} customers" in out.getvalue()
    assert run.trigger == "command"


def test_an_empty_database_still_finishes() -> None:
    run = scores_recompute(trigger="test")
    assert run.status == ScoreRun.Status.DONE and run.customers == 0


# --- reading them --------------------------------------------------------------------


def test_scores_api_reads_the_latest_snapshot_with_history(history, partner) -> None:
    alice = history["buyers"][0]
    client = partner("scores:read")
    before = client.get(f"/api/v1/customers/{alice.pk}/scores/")
    assert before.status_code == 200
    assert before.json()["computed_at"] is None and before.json()["influence"] is None

    scores_recompute(trigger="test")
    body = client.get(f"/api/v1/customers/{alice.pk}/scores/").json()
    for field in ["influence", "influence_components", "clv", "crv", "segment", "sentiment_index",
                  "nps_category", "computed_at"]:  # fmt: skip
        assert field in body
    assert body["nps_category"] == "promoter"
    assert body["segment"] in Segment.values
    assert len(body["history"]) == 1
    assert client.get(f"/api/v1/customers/{alice.pk}/scores/?history=x").status_code == 400


def test_scores_api_scope_and_merged_customer(history, partner) -> None:
    alice = history["buyers"][0]
    assert partner("customers:read").get(f"/api/v1/customers/{alice.pk}/scores/").status_code == 403
    twin = history["twin"]
    response = partner("scores:read").get(f"/api/v1/customers/{twin.pk}/scores/")
    assert response.status_code == 301
    assert response.json()["survivor"] == history["buyers"][5].pk


def test_customer_page_shows_scores_components_and_trend(history, client, marketer) -> None:
    alice = history["buyers"][0]
    client.force_login(marketer)
    assert "Scores have not been computed yet" in client.get(f"/customers/{alice.pk}/").content.decode()

    scores_recompute(trigger="test")
    yesterday = timezone.localdate() - timedelta(days=1)
    older = ScoreSnapshot.objects.get(customer=alice)  # add an older snapshot for a trend
    older.pk, older.as_of, older.influence = None, yesterday, 10.0
    older.save()
    page = client.get(f"/customers/{alice.pk}/").content.decode()
    assert 'data-testid="influence-components"' in page
    assert "network centrality (PageRank)" in page
    assert 'data-testid="score-trend"' in page


def test_scores_page_and_recompute_button(history, client, marketer, agent) -> None:
    client.force_login(agent)
    assert client.get("/insights/scores/").status_code == 403
    client.force_login(marketer)
    assert "No score run yet" in client.get("/insights/scores/").content.decode()
    response = client.post("/insights/scores/recompute/", follow=True)  # eager in tests: runs now
    assert response.status_code == 200
    run = ScoreRun.objects.get()
    assert run.trigger == "user:marketer" and run.status == ScoreRun.Status.DONE
    assert "Latest run: scores as of" in response.content.decode()


# --- in a real worker ----------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_nightly_task(history) -> None:
    from django.conf import settings
    from django.db import connection

    from influence.tasks import recompute_scores_task
    from tests.workers import send, start_worker, stop_worker, wait_for

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (the CI services)")
    worker = start_worker()
    try:
        send(recompute_scores_task, trigger="beat")
        assert wait_for(lambda: ScoreRun.objects.filter(status="done").exists(), seconds=180, interval=0.2)
    finally:
        stop_worker(worker)
    run = ScoreRun.objects.get()
    assert run.trigger == "beat"
    assert ScoreSnapshot.objects.filter(run=run).count() == run.customers > 0


def test_history_fills_in_past_month_ends_with_what_was_known_then(history, partner) -> None:
    buyers, friend = history["buyers"], history["friend"]
    newcomer = CustomerFactory(first_name="Newcomer")  # created now: not in any past snapshot
    out = StringIO()
    call_command("recompute_scores", "--history", "2", "--no-rollups", stdout=out, stderr=StringIO())

    runs = list(ScoreRun.objects.order_by("as_of"))
    today = timezone.localdate()
    assert [run.as_of for run in runs][-1] == today and len(runs) == 3
    assert all(run.as_of < today.replace(day=1) for run in runs[:2])
    assert out.getvalue().count("Scores as of") == 3
    assert set(ScoreSnapshot.objects.filter(customer=newcomer).values_list("as_of", flat=True)) == {today}
    assert ScoreSnapshot.objects.filter(customer=buyers[0]).count() == 3
    # The friend joined 50 days ago: absent two month ends back, present since.
    assert ScoreSnapshot.objects.filter(customer=friend).count() in (1, 2)
    # The records' segments are today's, not a past month's.
    latest = ScoreSnapshot.objects.get(customer=buyers[0], as_of=today)
    buyers[0].refresh_from_db()
    assert buyers[0].segment == latest.segment
    assert runs[0].summary["history"] is True and runs[-1].summary["history"] is False
    body = partner("scores:read").get(f"/api/v1/customers/{buyers[0].pk}/scores/").json()
    assert [point["as_of"] for point in body["history"]] == [run.as_of.isoformat() for run in runs]


def test_a_past_run_leaves_the_current_segments_alone(history) -> None:
    today_run = scores_recompute(trigger="test")
    segments = dict(Customer.objects.values_list("pk", "segment"))
    past = timezone.now() - timedelta(days=90)
    scores_recompute(trigger="test", as_of=past)
    assert dict(Customer.objects.values_list("pk", "segment")) == segments
    from influence.selectors import latest_run

    assert latest_run() == today_run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--history", "99"], "--history takes 0 to 36 months"),
        (["--as-of", "2999-01-01"], "must be a past day"),
    ],
)
def test_history_options_are_checked(args, message) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("recompute_scores", *args, stdout=StringIO(), stderr=StringIO())
    assert not ScoreRun.objects.exists()


def test_the_task_skips_quietly_while_another_run_holds_the_lock(history) -> None:
    from influence.tasks import recompute_scores_task

    cache.add(LOCK_KEY, "1", 60)
    assert recompute_scores_task.delay(trigger="beat").get() == 0
    assert not ScoreRun.objects.exists()


def test_a_run_cut_off_by_a_killed_worker_is_marked_interrupted(history, client, marketer) -> None:
    dead = ScoreRun.objects.create(as_of=timezone.localdate(), trigger="beat", step="clv")
    client.force_login(marketer)
    assert "Running: step" not in client.get("/insights/scores/").content.decode()  # no lock: not running
    scores_recompute(trigger="test")
    dead.refresh_from_db()
    assert dead.status == ScoreRun.Status.FAILED and dead.error.startswith("interrupted")
