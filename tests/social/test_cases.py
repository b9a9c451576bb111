"""Working cases: SLA due times, assignment, status moves, collisions, replies sent once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from django.contrib.auth.models import User
from django.utils import timezone

from customers.models import SocialIdentity
from scrm.actors import Actor
from scrm.errors import Conflict, ValidationFailed
from social.cases import (
    canned_render,
    case_claim_reply,
    case_set_status,
    case_take,
    cases_assign_round_robin,
    due_times,
    reply_retry,
    reply_send,
    sla_targets,
)
from social.ingestion import post_ingest_batch
from social.models import AgentDuty, Case, ConnectedAccount, Post, Reply, SlaTarget
from social.providers.base import ProviderAuthor, ProviderPost
from social.services import account_create
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

V2 = Path(__file__).resolve().parent.parent / "fixtures" / "x_v2"
TWEETS = "https://api.twitter.com/2/tweets"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
X_TOKENS = {"bearer_token": "b", "consumer_key": "ck", "consumer_secret": "cs", "access_token": "at",
            "access_token_secret": "ats"}  # fmt: skip


def open_case(
    external_id: str = "1", followers: int = 50, text: str = "My kettle broke, terrible service"
) -> Case:
    author = ProviderAuthor(external_id="100", handle="alice_w", name="Alice Walker", followers=followers)
    post = ProviderPost(network="x", external_id=external_id, author=author, text=text, created_at=T0)
    post_ingest_batch(posts=[post], source=Post.Source.API)
    return Case.objects.get(network="x", conversation=external_id)


@pytest.fixture
def x_account(db: None) -> ConnectedAccount:
    return account_create(
        name="Acme on X", provider="x", credentials=X_TOKENS, actor=Actor.system("test"), external_id="999"
    )


def test_due_times_follow_the_priority_band() -> None:
    targets = sla_targets()
    assert targets["high"] == (60, 480)
    SlaTarget.objects.filter(band="high").update(first_response_minutes=30)
    assert due_times(80, T0, sla_targets()) == (T0 + timedelta(minutes=30), T0 + timedelta(minutes=480))
    assert due_times(10, T0, sla_targets())[0] == T0 + timedelta(minutes=1440)

    case = open_case(followers=500_000)  # negative and influential: high band
    assert case.priority >= 70
    assert case.first_response_due_at == case.opened_at + timedelta(minutes=30)
    assert case.resolution_due_at == case.opened_at + timedelta(minutes=480)


@responses.activate
def test_reply_is_sent_once_and_answers_the_case(
    x_account: ConnectedAccount, agent: User, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    responses.post(TWEETS, json=json.loads((V2 / "tweet_create.json").read_text()), status=201)
    case = open_case()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        reply, created = reply_send(
            case=case, text="Sorry Alice, DM us?", actor=Actor.for_user(agent), key="k1"
        )
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        again, created_again = reply_send(
            case=case, text="Sorry Alice, DM us?", actor=Actor.for_user(agent), key="k1"
        )
    assert created and not created_again and again.pk == reply.pk
    reply.refresh_from_db()
    assert reply.status == Reply.Status.SENT and reply.external_id == "2124568593822646277"
    assert len(responses.calls) == 1
    body = json.loads(responses.calls[0].request.body or b"")
    assert body["reply"] == {"in_reply_to_tweet_id": "1"}
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING and case.first_response_at is not None


@responses.activate
def test_a_failed_reply_shows_why_and_is_sent_once_on_retry(
    x_account: ConnectedAccount, agent: User, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    responses.post(TWEETS, json={"title": "Service Unavailable", "detail": "try later"}, status=503)
    responses.post(TWEETS, json=json.loads((V2 / "tweet_create.json").read_text()), status=201)
    case = open_case()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        reply, _ = reply_send(case=case, text="On it!", actor=Actor.for_user(agent))
    reply.refresh_from_db()
    assert reply.status == Reply.Status.FAILED and reply.error
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        reply_retry(reply=reply, actor=Actor.for_user(agent))
    reply.refresh_from_db()
    assert (reply.status, reply.attempts) == (Reply.Status.SENT, 2)
    with pytest.raises(Conflict):
        reply_retry(reply=reply, actor=Actor.for_user(agent))
    assert len(responses.calls) == 2 and Reply.objects.count() == 1


def test_second_agent_gets_the_collision_warning(
    x_account: ConnectedAccount, make_user: Callable[..., User]
) -> None:
    first, second = make_user("ann", "agent"), make_user("bob", "agent")
    case = open_case()
    assert case_claim_reply(case=case, user=first) == first
    assert case_claim_reply(case=case, user=second) == first
    with pytest.raises(Conflict, match="ann is replying"):
        reply_send(case=case, text="Hello", actor=Actor.for_user(second))
    Case.objects.filter(pk=case.pk).update(replying_until=timezone.now() - timedelta(seconds=1))
    assert case_claim_reply(case=case, user=second) == second


def test_reply_text_is_checked(x_account: ConnectedAccount, agent: User) -> None:
    case = open_case()
    for text in ("   ", "x" * 281):
        with pytest.raises(ValidationFailed) as refused:
            reply_send(case=case, text=text, actor=Actor.for_user(agent))
        assert "text" in refused.value.field_errors
    assert not Reply.objects.exists()


def test_round_robin_gives_new_cases_in_turn(make_user: Callable[..., User]) -> None:
    ann, bob = make_user("ann", "agent"), make_user("bob", "agent")
    make_user("off", "agent")
    AgentDuty.objects.create(user=ann, on_duty=True)
    AgentDuty.objects.create(user=bob, on_duty=True)
    for external_id in ("1", "2", "3"):
        open_case(external_id)
    assert cases_assign_round_robin() == 3
    owners = sorted(Case.objects.values_list("assignee__username", flat=True))
    assert owners in (["ann", "ann", "bob"], ["ann", "bob", "bob"])
    assert cases_assign_round_robin() == 0


def test_taking_and_moving_a_case(make_user: Callable[..., User]) -> None:
    ann, bob = make_user("ann", "agent"), make_user("bob", "agent")
    case = open_case()
    case_take(case=case, agent=ann, actor=Actor.for_user(ann))
    with pytest.raises(Conflict, match="ann took this case first"):
        case_take(case=case, agent=bob, actor=Actor.for_user(bob))
    actor = Actor.for_user(ann)
    case = case_set_status(case=case, status=Case.Status.RESOLVED, actor=actor)
    assert case.resolved_at is not None
    with pytest.raises(Conflict):
        case_set_status(case=case, status=Case.Status.PENDING, actor=actor)
    case = case_set_status(case=case, status=Case.Status.OPEN, actor=actor)
    assert case.resolved_at is None


def test_canned_reply_variables() -> None:
    case = open_case()
    SocialIdentity.objects.filter(external_id="100").update(customer=CustomerFactory(first_name="Alicia"))
    case.refresh_from_db()
    agent = User(username="sam", first_name="Sam")
    text = canned_render(
        "Hi {first_name} ({handle}), case {case_id}. {agent} {unknown}", case=case, agent=agent
    )
    assert text == f"Hi Alicia (@alice_w), case {case.pk}. Sam {{unknown}}"


def test_sla_targets_are_validated_and_audited(admin_user: User) -> None:
    from social.cases import sla_targets_set

    actor = Actor.for_user(admin_user)
    with pytest.raises(ValidationFailed) as refused:
        sla_targets_set(targets={"high": (0, 10), "low": (60, 30)}, actor=actor)
    assert set(refused.value.field_errors) == {"high", "low"}
    sla_targets_set(targets={"high": (15, 120)}, actor=actor)
    assert sla_targets()["high"] == (15, 120)


def test_a_valuable_customer_raises_the_priority() -> None:
    from datetime import timedelta as delta
    from decimal import Decimal

    from tests.factories import PurchaseFactory

    stranger = open_case("1")
    customer = CustomerFactory()
    SocialIdentity.objects.create(network="x", external_id="200", handle="vip", handle_normalized="vip",
                                  customer=customer, link_method="declared")  # fmt: skip
    PurchaseFactory(
        customer=customer, amount=Decimal("2500.00"), purchased_at=timezone.now() - delta(days=30)
    )
    author = ProviderAuthor(external_id="200", handle="vip", name="V I P", followers=50)
    post = ProviderPost(network="x", external_id="2", author=author, text="My kettle broke, terrible service",
                        created_at=T0)  # fmt: skip
    post_ingest_batch(posts=[post], source=Post.Source.API)
    valued = Case.objects.get(conversation="2")
    assert valued.priority > stranger.priority
    assert any(part.startswith("value:") for part in valued.priority_reasons)
