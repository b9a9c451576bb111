"""Polling a listening rule: cursors, account health, rate limits, caps, and the beat sweep."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from django.utils import timezone

from scrm.actors import Actor
from social.models import ConnectedAccount, ListeningRule, Post, PostRuleMatch
from social.polling import advance, rule_poll, rules_due
from social.providers.base import Page, RateLimited
from social.services import account_create, rule_create
from social.tasks import _countdown, poll_rule_task

pytestmark = pytest.mark.django_db

V2 = Path(__file__).resolve().parent.parent / "fixtures" / "x_v2"
SEARCH = "https://api.twitter.com/2/tweets/search/recent"
ACTOR = Actor.system("test")


def load(name: str) -> Any:
    return json.loads((V2 / name).read_text(encoding="utf-8"))


@pytest.fixture
def demo_rule(db: None) -> ListeningRule:
    account = account_create(name="Demo", provider="fake", credentials={"count": 120, "seed": 3}, actor=ACTOR)
    return rule_create(
        actor=ACTOR, name="Brand", kind="brand", stream="search", account=account,
        keywords=["Acme"], hashtags=[], handles=[], languages=[],
    )  # fmt: skip


@pytest.fixture
def x_rule(db: None) -> ListeningRule:
    account = account_create(
        name="Acme on X", provider="x", credentials={"bearer_token": "dummy"}, actor=ACTOR,
        handle="AcmeSupport", external_id="2244994945",
    )  # fmt: skip
    return rule_create(
        actor=ACTOR, name="Kettle", kind="brand", stream="search", account=account,
        keywords=["acme kettle"], hashtags=["acme"], handles=[], languages=["en"],
    )  # fmt: skip


def test_a_poll_reads_every_page_then_only_what_is_new(demo_rule: ListeningRule) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.SOCIAL_POLL_PAGE_SIZE", 25)
        result = rule_poll(rule_id=demo_rule.pk)
    stored = Post.objects.count()
    assert result.pages > 1 and result.summary.new == stored > 0
    demo_rule.refresh_from_db()
    assert demo_rule.cursor == {"since_id": "120"}  # the demo stream's position
    assert PostRuleMatch.objects.filter(rule=demo_rule).count() == stored
    account = demo_rule.account
    assert account is not None
    account.refresh_from_db()
    assert account.health == ConnectedAccount.Health.HEALTHY
    assert account.posts_read_this_month == stored
    assert demo_rule.next_poll_at and demo_rule.next_poll_at > timezone.now()

    again = rule_poll(rule_id=demo_rule.pk)
    assert again.summary.read == 0 and Post.objects.count() == stored


def test_a_pass_cut_short_resumes_where_it_stopped(demo_rule: ListeningRule) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.SOCIAL_POLL_PAGE_SIZE", 10)
        first = rule_poll(rule_id=demo_rule.pk, max_pages=1)
        demo_rule.refresh_from_db()
        assert "next" in demo_rule.cursor and first.pages == 1
        while "next" in demo_rule.cursor:
            rule_poll(rule_id=demo_rule.pk, max_pages=1)
            demo_rule.refresh_from_db()
    whole = Post.objects.count()
    Post.objects.all().delete()
    demo_rule.cursor = {}
    demo_rule.save()
    rule_poll(rule_id=demo_rule.pk, max_pages=100)
    assert Post.objects.count() == whole


def test_cursor_moves_to_the_newest_id_once_the_pass_is_over() -> None:
    cursor = advance({}, Page(posts=(), next_cursor="t1", newest_id="900"))
    assert cursor == {"next": "t1", "newest": "900"}
    cursor = advance(cursor, Page(posts=(), next_cursor="t2", newest_id="850"))
    assert cursor["newest"] == "900"
    assert advance(cursor, Page(posts=(), next_cursor=None, newest_id="800")) == {"since_id": "900"}
    assert advance({"since_id": "900"}, Page(posts=(), next_cursor=None)) == {"since_id": "900"}
    assert advance({}, Page(posts=(), next_cursor=None, newest_id="1000")) == {"since_id": "1000"}
    assert advance({"newest": "999"}, Page(posts=(), next_cursor=None, newest_id="1000")) == {
        "since_id": "1000"
    }


@responses.activate
def test_x_search_poll_stores_posts_and_their_context(x_rule: ListeningRule) -> None:
    body = load("search_recent_expanded.json")
    assert body["meta"]["next_token"]
    limits = {"x-rate-limit-remaining": "449", "x-rate-limit-reset": "1900000000"}
    responses.get(SEARCH, json=body, headers=limits)
    responses.get(SEARCH, json={"meta": {"result_count": 0}}, headers=limits)  # the last page
    result = rule_poll(rule_id=x_rule.pk)
    assert result.pages == 2
    assert f"next_token={body['meta']['next_token']}" in (responses.calls[1].request.url or "")
    assert result.summary.new == len(body["data"])
    sent = responses.calls[0].request.url or ""
    assert "lang%3Aen" in sent and "-is%3Aretweet" in sent
    x_rule.refresh_from_db()
    assert x_rule.cursor == {"since_id": body["meta"]["newest_id"]}
    stored = Post.objects.filter(network="x").count()
    assert stored >= len(body["data"])  # referenced tweets are kept for context
    assert PostRuleMatch.objects.filter(rule=x_rule).count() == len(body["data"])

    rule_poll(rule_id=x_rule.pk)
    assert f"since_id={body['meta']['newest_id']}" in (responses.calls[2].request.url or "")


@responses.activate
def test_rate_limit_defers_the_rule_until_the_reset(x_rule: ListeningRule) -> None:
    reset = int(time.time()) + 900
    responses.get(
        SEARCH, json=load("too_many_requests.json"), status=429,
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )  # fmt: skip
    with pytest.raises(RateLimited):
        rule_poll(rule_id=x_rule.pk)
    account = ConnectedAccount.objects.get(pk=x_rule.account_id)
    assert account.health == ConnectedAccount.Health.DEGRADED
    assert account.rate_limit_reset_at == datetime.fromtimestamp(reset, tz=UTC)
    x_rule.refresh_from_db()
    assert x_rule.next_poll_at == datetime.fromtimestamp(reset, tz=UTC)
    assert x_rule.pk not in rules_due()
    assert rule_poll(rule_id=x_rule.pk).skipped == "rate limited"  # no call before the reset
    assert len(responses.calls) == 1


def test_retry_countdown_honours_the_reset_time() -> None:
    class Request:
        retries = 2

    class FakeTask:
        request = Request()

    error = RateLimited("slow down", retry_at=datetime.now(tz=UTC) + timedelta(seconds=300))
    assert 299 <= _countdown(FakeTask(), error) <= 302  # type: ignore[arg-type]
    assert _countdown(FakeTask()) == 60  # type: ignore[arg-type]


@responses.activate
def test_refused_credentials_mark_the_account_unhealthy_and_stop(x_rule: ListeningRule) -> None:
    responses.get(SEARCH, json=load("unauthorized.json"), status=401)
    outcome = poll_rule_task.apply(args=[x_rule.pk]).get()
    assert "error" in outcome
    account = ConnectedAccount.objects.get(pk=x_rule.account_id)
    assert account.health == ConnectedAccount.Health.UNHEALTHY and account.last_error
    assert x_rule.pk not in rules_due(now=timezone.now() + timedelta(days=1))
    assert rule_poll(rule_id=x_rule.pk).skipped == "account needs attention"
    assert len(responses.calls) == 1  # no retry hammering the network


def test_monthly_cap_stops_polling(demo_rule: ListeningRule) -> None:
    ConnectedAccount.objects.filter(pk=demo_rule.account_id).update(
        monthly_post_cap=10, posts_read_this_month=10, usage_month=timezone.now().date().replace(day=1)
    )
    assert rule_poll(rule_id=demo_rule.pk).skipped == "monthly post cap reached"
    assert not Post.objects.exists()


def test_usage_starts_again_each_month(demo_rule: ListeningRule) -> None:
    ConnectedAccount.objects.filter(pk=demo_rule.account_id).update(
        monthly_post_cap=10_000, posts_read_this_month=10_000, usage_month=datetime(2020, 1, 1).date()
    )
    result = rule_poll(rule_id=demo_rule.pk)
    account = ConnectedAccount.objects.get(pk=demo_rule.account_id)
    assert result.summary.new > 0 and account.posts_read_this_month < 10_000


def test_rules_due_skips_inactive_and_unscheduled_ones(demo_rule: ListeningRule) -> None:
    assert demo_rule.pk in rules_due()
    ListeningRule.objects.filter(pk=demo_rule.pk).update(next_poll_at=timezone.now() + timedelta(minutes=5))
    assert demo_rule.pk not in rules_due()
    ListeningRule.objects.filter(pk=demo_rule.pk).update(next_poll_at=None, active=False)
    assert demo_rule.pk not in rules_due()
