"""A real Celery worker is killed (SIGKILL) in the middle of polling a rule; the next
beat tick polls it again in a new worker. Every post must be stored exactly once,
with its rule match, edges and case counts made once, and the cursor must be right
both at the moment of the kill and at the end."""

from __future__ import annotations

import signal

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F, OuterRef, Subquery, Sum

from scrm.actors import Actor
from social.models import Case, ListeningRule, Post, PostRuleMatch, SocialEdge
from social.services import account_create, rule_create
from tests.workers import send, start_worker, stop_worker, wait_for, worker_env

POSTS = 4000

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _worker_env() -> dict[str, str]:
    return worker_env(SOCIAL_POLL_PAGE_SIZE="50", SOCIAL_POLL_MAX_PAGES="1000")


def test_killed_worker_then_repoll_stores_every_post_once() -> None:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (the CI services)")
    from social.tasks import poll_due_rules_task, poll_rule_task

    actor = Actor.system("test")
    account = account_create(
        name="Demo", provider="fake", credentials={"count": POSTS, "seed": 5}, actor=actor
    )
    rule = rule_create(
        actor=actor, name="Page feed", kind="brand", stream="feed", account=account,
        keywords=[], hashtags=[], handles=[], languages=[],
    )  # fmt: skip

    worker = start_worker(_worker_env())
    try:
        send(poll_rule_task, rule.pk)
        assert wait_for(lambda: Post.objects.count() >= POSTS // 4), "the worker did not start ingesting"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()

    # At the kill: what is stored is exactly what the cursor says was read.
    rule.refresh_from_db()
    stored = Post.objects.count()
    assert 0 < stored < POSTS, "the kill came too late to test anything"
    assert int(rule.cursor["next"]) == stored
    assert PostRuleMatch.objects.count() == stored

    worker = start_worker(_worker_env())
    try:
        send(poll_due_rules_task)  # the beat's next tick: the rule is still due
        assert wait_for(lambda: ListeningRule.objects.get(pk=rule.pk).cursor.get("since_id") == str(POSTS))
    finally:
        stop_worker(worker)

    assert Post.objects.count() == POSTS
    assert PostRuleMatch.objects.filter(rule=rule).count() == POSTS
    # Each reply made exactly one unit of reply weight between two different people.
    parent = Post.objects.filter(network=OuterRef("network"), external_id=OuterRef("in_reply_to"))
    replies = (
        Post.objects.filter(in_reply_to__gt="")
        .annotate(parent_author=Subquery(parent.values("author")[:1]))
        .exclude(parent_author__isnull=True)
        .exclude(author_id=F("parent_author"))
        .count()
    )
    assert SocialEdge.objects.filter(kind="reply").aggregate(total=Sum("weight"))["total"] == replies
    # Every post that joined a case was counted once on it.
    assert (Case.objects.aggregate(total=Sum("post_count"))["total"] or 0) == Post.objects.filter(
        case__isnull=False
    ).count()
