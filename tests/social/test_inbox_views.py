"""The agent inbox, the case page and the SLA page through their views: who may do what,
queues and ordering, search, and the work on a case (take, assign, status, notes, replies)
with the services' refusals shown on the page."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scrm.actors import Actor
from scrm.roles import AGENT
from social.cases import case_claim_reply
from social.models import AgentDuty, CannedReply, Case, Post, Reply, SlaTarget
from social.services import account_create
from tests.factories import CustomerFactory, SocialIdentityFactory

pytestmark = pytest.mark.django_db

V2 = Path(__file__).resolve().parent.parent / "fixtures" / "x_v2"
TWEETS = "https://api.twitter.com/2/tweets"
X_TOKENS = {"bearer_token": "b", "consumer_key": "ck", "consumer_secret": "cs", "access_token": "at",
            "access_token_secret": "ats"}  # fmt: skip
_serial = iter(range(1, 1_000_000))


def make_case(
    text: str = "My kettle broke",
    *,
    priority: int = 50,
    status: str = Case.Status.NEW,
    minutes_ago: int = 10,
    due_in: int = 60,
    assignee: User | None = None,
    network: str = "x",
    author: Any = None,
) -> Case:
    """A case with one post, opened `minutes_ago` and due `due_in` minutes from now."""
    now = timezone.now()
    n = next(_serial)
    author = author or SocialIdentityFactory(network=network, handle=f"author{n}")
    opened = now - timedelta(minutes=minutes_ago)
    case = Case.objects.create(
        network=network, conversation=f"conv{n}", author=author, status=status, priority=priority,
        priority_reasons=[f"sentiment {priority}"], reasons=["negative"], assignee=assignee, opened_at=opened,
        last_post_at=opened, first_response_due_at=now + timedelta(minutes=due_in),
        resolution_due_at=now + timedelta(minutes=due_in + 600),
        resolved_at=now if status == Case.Status.RESOLVED else None,
    )  # fmt: skip
    Post.objects.create(
        network=network, external_id=f"p{n}", author=author, text=text, created_at=opened, sentiment=-0.6,
        sentiment_label="negative", sentiment_model="test", source=Post.Source.API, case=case, flagged=True,
        conversation=f"conv{n}",
    )  # fmt: skip
    return case


def row_ids(response: Any) -> list[int]:
    return [case.pk for case in response.context["rows"]]


@pytest.fixture
def x_account(db: None) -> Any:
    return account_create(
        name="Acme on X", provider="x", credentials=X_TOKENS, actor=Actor.system("test"), external_id="999"
    )


@pytest.fixture
def other_agent(make_user: Callable[..., User]) -> User:
    return make_user("colleague", AGENT)


# --- who sees what -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_fixture", "inbox", "case", "sla", "act"),
    [("agent", 200, 200, 403, 302), ("marketer", 200, 200, 403, 403), ("admin_user", 200, 200, 200, 302)],
)
def test_pages_by_role(client, request, user_fixture, inbox, case, sla, act) -> None:
    user = request.getfixturevalue(user_fixture)
    client.force_login(user)
    target = make_case()
    assert client.get("/social/inbox/").status_code == inbox
    assert client.get(f"/social/cases/{target.pk}/").status_code == case
    assert client.get("/social/sla/").status_code == sla
    assert client.post(f"/social/cases/{target.pk}/take/").status_code == act
    # Marketing users land on the insights page; the navigation is the same there.
    nav = [str(item["label"]) for item in client.get("/", follow=True).context["nav_items"]]
    assert [label for label in nav if label != "Insights"][:2] == ["Home", "Inbox"]
    assert ("SLA" in nav) == (sla == 200)


def test_anonymous_is_sent_to_sign_in(client) -> None:
    assert client.get("/social/inbox/").status_code == 302


# --- queues, ordering, search --------------------------------------------------------


def test_overdue_first_then_priority_then_oldest(client, agent: User, other_agent: User) -> None:
    late_low = make_case("late and low", priority=10, due_in=-5)
    high_new = make_case("high", priority=90, minutes_ago=5)
    high_old = make_case("high and older", priority=90, minutes_ago=50)
    mid = make_case("mid", priority=50, assignee=agent)
    answered_but_late_resolution = make_case("answered", priority=20, assignee=other_agent)
    Case.objects.filter(pk=answered_but_late_resolution.pk).update(
        first_response_at=timezone.now(), resolution_due_at=timezone.now() - timedelta(minutes=1)
    )
    resolved = make_case("done", status=Case.Status.RESOLVED, due_in=-100)
    client.force_login(agent)

    response = client.get("/social/inbox/")
    assert row_ids(response) == [
        answered_but_late_resolution.pk,
        late_low.pk,
        high_old.pk,
        high_new.pk,
        mid.pk,
    ]
    assert [c.is_overdue for c in response.context["rows"]] == [True, True, False, False, False]
    body = response.content.decode()
    assert "late and low" in body and 'class="case-row overdue"' in body
    tabs = {tab["queue"]: tab["count"] for tab in response.context["tabs"]}
    assert tabs == {"mine": 1, "unassigned": 3, "open": 5, "resolved": 1}

    assert row_ids(client.get("/social/inbox/?queue=mine")) == [mid.pk]
    assert row_ids(client.get("/social/inbox/?queue=unassigned")) == [late_low.pk, high_old.pk, high_new.pk]
    assert row_ids(client.get("/social/inbox/?queue=resolved")) == [resolved.pk]
    assert row_ids(client.get("/social/inbox/?overdue=on")) == [answered_but_late_resolution.pk, late_low.pk]
    assert row_ids(client.get("/social/inbox/?band=high")) == [high_old.pk, high_new.pk]


def test_pages_cut_across_overdue_and_on_time_cases(client, agent: User, settings) -> None:
    """Overdue cases and the others are read as two runs; every page, wherever it cuts,
    is the same as one sort of the whole queue would give."""
    from social import inbox_views

    settings.DEBUG = False
    cases = [
        make_case(f"case {n}", priority=(n * 37) % 100, minutes_ago=n, due_in=-5 if n % 3 == 0 else 60)
        for n in range(23)
    ]
    make_case("resolved, never listed", status=Case.Status.RESOLVED, due_in=-100)
    now = timezone.now()

    def key(case: Case) -> tuple[bool, int, object, int]:
        late = case.first_response_due_at < now
        return (not late, -case.priority, case.opened_at, case.pk)

    expected = [c.pk for c in sorted(cases, key=key)]
    client.force_login(agent)
    original = inbox_views.INBOX_PAGE_SIZE
    try:
        inbox_views.INBOX_PAGE_SIZE = 4  # 8 overdue cases: pages 1-2 overdue, page 3 starts on time
        seen: list[int] = []
        for page in range(1, 8):
            response = client.get(f"/social/inbox/?page={page}")
            seen += row_ids(response)
            assert response.context["has_next"] == (page < 6)
    finally:
        inbox_views.INBOX_PAGE_SIZE = original
    assert seen == expected


def test_network_tab_and_filters(client, agent: User) -> None:
    on_x = make_case(network="x")
    on_facebook = make_case(network="facebook", priority=80)
    client.force_login(agent)
    response = client.get("/social/inbox/?queue=network&network=facebook")
    assert row_ids(response) == [on_facebook.pk]
    networks = {tab["network"]: tab["count"] for tab in response.context["network_tabs"]}
    assert networks == {"x": 1, "facebook": 1}
    assert row_ids(client.get("/social/inbox/?status=new&network=x")) == [on_x.pk]


def test_search_by_post_text_handle_and_customer_name(client, agent: User) -> None:
    customer = CustomerFactory(first_name="Marie", last_name="Lefèvre")
    linked = make_case("Nothing special", author=SocialIdentityFactory(handle="someone", customer=customer))
    by_text = make_case("The KETTLE leaks everywhere")
    by_handle = make_case("Hello", author=SocialIdentityFactory(handle="gaston_lag"))
    client.force_login(agent)
    assert row_ids(client.get("/social/inbox/?q=kettle")) == [by_text.pk]
    assert row_ids(client.get("/social/inbox/?q=@gaston")) == [by_handle.pk]
    assert row_ids(client.get("/social/inbox/?q=lefèvre")) == [linked.pk]
    htmx = client.get("/social/inbox/?q=kettle", headers={"HX-Request": "true"})
    assert "<html" not in htmx.content.decode() and "The KETTLE leaks" in htmx.content.decode()


def test_inbox_queries_do_not_grow_with_the_number_of_cases(client, agent: User) -> None:
    client.force_login(agent)
    for _ in range(3):
        make_case()
    with CaptureQueriesContext(connection) as few:
        assert client.get("/social/inbox/").status_code == 200
    for _ in range(12):
        make_case(author=SocialIdentityFactory(customer=CustomerFactory()))
    with CaptureQueriesContext(connection) as many:
        response = client.get("/social/inbox/")
    assert len(response.context["rows"]) == 15
    assert len(many) == len(few)


def test_duty_toggle(client, agent: User) -> None:
    client.force_login(agent)
    client.post("/social/inbox/duty/", {"on_duty": "1"})
    assert AgentDuty.objects.get(user=agent).on_duty
    assert "Go off duty" in client.get("/social/inbox/").content.decode()
    client.post("/social/inbox/duty/", {"on_duty": "0"})
    assert not AgentDuty.objects.get(user=agent).on_duty


# --- working a case ------------------------------------------------------------------


def test_case_page_shows_thread_customer_and_sla(client, agent: User) -> None:
    customer = CustomerFactory(first_name="Marie", last_name="Lefèvre")
    case = make_case("Still no answer", author=SocialIdentityFactory(handle="marie_lfv", customer=customer))
    make_case("An earlier complaint", author=case.author, status=Case.Status.RESOLVED)
    client.force_login(agent)
    body = client.get(f"/social/cases/{case.pk}/").content.decode()
    assert "Still no answer" in body and "Marie Lefèvre" in body and "@marie_lfv" in body
    assert 'data-testid="customer-cases"' in body and "An earlier complaint" in body  # their history
    assert "sentiment 50" in body and "from now" in body  # priority reasons, relative due time

    stranger = make_case("Who am I", author=SocialIdentityFactory(handle="nobody_here", customer=None))
    body = client.get(f"/social/cases/{stranger.pk}/").content.decode()
    assert "not linked to a customer" in body and "@nobody_here" in body


def test_take_then_colleague_cannot_take(client, agent: User, other_agent: User) -> None:
    case = make_case()
    client.force_login(agent)
    assert client.post(f"/social/cases/{case.pk}/take/").url == f"/social/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.assignee == agent
    client.force_login(other_agent)
    response = client.post(f"/social/cases/{case.pk}/take/", {"next": "/social/inbox/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/social/inbox/"
    assert "agent took this case first." in response.content.decode()


def test_assign_and_unassign(client, agent: User, other_agent: User) -> None:
    case = make_case()
    client.force_login(agent)
    client.post(f"/social/cases/{case.pk}/assign/", {"assignee": other_agent.pk})
    case.refresh_from_db()
    assert case.assignee == other_agent
    client.post(f"/social/cases/{case.pk}/assign/", {"assignee": ""})
    case.refresh_from_db()
    assert case.assignee is None
    response = client.post(f"/social/cases/{case.pk}/assign/", {"assignee": "99999"}, follow=True)
    assert "Choose an agent" in response.content.decode()


def test_status_moves_and_a_refused_one(client, agent: User) -> None:
    case = make_case()
    client.force_login(agent)
    client.post(f"/social/cases/{case.pk}/status/", {"status": "resolved"})
    case.refresh_from_db()
    assert case.status == "resolved"
    assert "Reopen" in client.get(f"/social/cases/{case.pk}/").content.decode()
    response = client.post(f"/social/cases/{case.pk}/status/", {"status": "pending"}, follow=True)
    assert response.status_code == 200
    assert "cannot go from" in response.content.decode()
    client.post(f"/social/cases/{case.pk}/status/", {"status": "open"})
    case.refresh_from_db()
    assert case.status == "open"


def test_notes(client, agent: User) -> None:
    case = make_case()
    client.force_login(agent)
    client.post(f"/social/cases/{case.pk}/note/", {"text": "Called the shop"})
    assert "Called the shop" in client.get(f"/social/cases/{case.pk}/").content.decode()
    response = client.post(f"/social/cases/{case.pk}/note/", {"text": "   "})
    assert response.status_code == 400


@responses.activate
def test_reply_once_per_key_then_sent(
    client, agent: User, x_account: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    responses.post(TWEETS, json=json.loads((V2 / "tweet_create.json").read_text()), status=201)
    case = make_case()
    CannedReply.objects.create(title="Sorry", body="Sorry {first_name}, case {case_id}. {agent}")
    client.force_login(agent)
    page = client.get(f"/social/cases/{case.pk}/")
    key = page.context["reply_form"]["key"].value()
    assert f"case {case.pk}. Agent" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/social/cases/{case.pk}/reply/", {"text": "We are on it", "key": key})
        second = client.post(f"/social/cases/{case.pk}/reply/", {"text": "We are on it", "key": key})
    assert first.status_code == second.status_code == 302
    reply = Reply.objects.get(case=case)
    assert reply.status == Reply.Status.SENT
    assert len(responses.calls) == 1
    body = client.get(f"/social/cases/{case.pk}/").content.decode()
    assert "We are on it" in body and "reply-sent" in body


def test_reply_refused_while_a_colleague_types_and_for_bad_text(
    client, agent: User, other_agent: User, x_account: Any
) -> None:
    case = make_case()
    case_claim_reply(case=case, user=other_agent)
    client.force_login(agent)
    page = client.get(f"/social/cases/{case.pk}/").content.decode()
    assert "colleague is replying to this case." in page
    claim = client.post(f"/social/cases/{case.pk}/replying/")
    assert "colleague is replying" in claim.content.decode()
    response = client.post(f"/social/cases/{case.pk}/reply/", {"text": "Hello", "key": "k1"})
    assert response.status_code == 409
    assert "colleague is replying to this case; wait or talk to them." in response.content.decode()
    assert 'value="k1"' in response.content.decode() and "Hello" in response.content.decode()
    assert not Reply.objects.exists()

    client.force_login(other_agent)
    assert "is replying" not in client.post(f"/social/cases/{case.pk}/replying/").content.decode()
    too_long = client.post(f"/social/cases/{case.pk}/reply/", {"text": "x" * 300, "key": "k2"})
    assert too_long.status_code == 400 and "At most 280 characters" in too_long.content.decode()


def test_failed_reply_shows_reason_and_retries(
    client, agent: User, x_account: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    case = make_case()
    reply = Reply.objects.create(
        case=case, key="k", text="Hi", in_reply_to="p1", author=agent, account=x_account,
        status=Reply.Status.FAILED, error="Forbidden: duplicate content",
    )  # fmt: skip
    client.force_login(agent)
    body = client.get(f"/social/cases/{case.pk}/").content.decode()
    assert "failed: Forbidden: duplicate content" in body and "Retry" in body
    with responses.RequestsMock() as mocked:
        mocked.post(TWEETS, json=json.loads((V2 / "tweet_create.json").read_text()), status=201)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/social/replies/{reply.pk}/retry/")
    reply.refresh_from_db()
    assert reply.status == Reply.Status.SENT
    response = client.post(f"/social/replies/{reply.pk}/retry/", follow=True)
    assert "Only a failed reply can be sent again." in response.content.decode()


# --- SLA page ------------------------------------------------------------------------


def test_sla_page_validates_and_saves(client, admin_user: User) -> None:
    client.force_login(admin_user)
    page = client.get("/social/sla/")
    assert 'value="60"' in page.content.decode()  # the settings' default for the high band
    data = {
        "high-first_response_minutes": "30", "high-resolution_minutes": "20",
        "normal-first_response_minutes": "0", "normal-resolution_minutes": "100",
        "low-first_response_minutes": "600", "low-resolution_minutes": "1200",
    }  # fmt: skip
    response = client.post("/social/sla/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Resolution cannot be due before the first response (30 minutes)." in body
    assert "Ensure this value is greater than or equal to 1." in body
    before = dict(SlaTarget.objects.values_list("band", "first_response_minutes"))
    assert before.get("high", 60) == 60
    data.update({"high-resolution_minutes": "240", "normal-first_response_minutes": "90"})
    assert client.post("/social/sla/", data).status_code == 302
    assert dict(SlaTarget.objects.values_list("band", "first_response_minutes")) == {
        "high": 30, "normal": 90, "low": 600,
    }  # fmt: skip
