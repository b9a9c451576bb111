"""Posts pushed by a partner's listening tool, their batches, and the posts list (api-contract.md)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from social.ingestion import post_ingest_batch
from social.models import InboundBatch, Post
from social.providers.files import post_from_contract
from tests.factories import SocialIdentityFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/posts/"


def item(external_id: str = "1861500000000000001", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "network": "x",
        "external_id": external_id,
        "author": {"external_id": "2899107652", "handle": "@marie_lfv", "name": "Marie Lefèvre",
                   "followers": 1342},
        "text": "My Acme kettle leaks since yesterday, really disappointed.",
        "created_at": "2026-11-22T19:03:41+01:00",
        "url": f"https://x.com/marie_lfv/status/{external_id}",
        "in_reply_to": None,
        "metrics": {"like_count": 14, "retweet_count": 2},
    }  # fmt: skip
    record.update(changes)
    return record


def push(client: APIClient, body: Any, **headers: str) -> Any:
    return client.post(POSTS, body, format="json", headers=headers)


# --- authentication and scopes -------------------------------------------------------


def test_without_a_key_every_endpoint_answers_401() -> None:
    client = APIClient()
    assert client.get(POSTS).status_code == 401
    assert push(client, item()).status_code == 401
    assert client.get(f"{POSTS}batches/{uuid.uuid4()}/").status_code == 401
    assert client.get("/api/v1/cases/").status_code == 401


def test_scopes(partner):
    reader, writer, other = partner("social:read"), partner("social:write"), partner("customers:read")
    assert push(reader, item()).status_code == 403
    assert "social:write" in push(reader, item()).json()["detail"]
    assert other.get(POSTS).status_code == 403
    assert writer.get(POSTS).status_code == 403
    assert reader.get(POSTS).status_code == 200
    assert InboundBatch.objects.count() == 0


# --- pushing -------------------------------------------------------------------------


def test_a_pushed_post_is_queued_then_ingested(partner, django_capture_on_commit_callbacks):
    client = partner("social:write")
    with django_capture_on_commit_callbacks(execute=True):
        response = push(client, item())
        # The worker runs once the request's transaction has committed.
        assert Post.objects.count() == 0
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["accepted"]) == ("queued", 1)
    assert body["status_url"].endswith(f"/api/v1/posts/batches/{body['batch']}/")
    assert response["Location"] == body["status_url"]

    post = Post.objects.get()
    assert (post.network, post.external_id, post.source) == ("x", "1861500000000000001", Post.Source.API)
    assert post.author is not None and post.author.handle == "marie_lfv"
    assert (post.likes, post.reposts, post.sentiment_label) == (14, 2, "negative")
    batch = InboundBatch.objects.get()
    assert batch.api_key is not None and batch.source == Post.Source.API

    status = client.get(body["status_url"])
    assert status.status_code == 200
    report = status.json()
    assert (report["id"], report["status"], report["accepted"], report["source"]) == (
        body["batch"], "done", 1, "api",
    )  # fmt: skip
    assert report["processed_at"] is not None and report["error"] == ""
    summary = report["summary"]
    assert (summary["read"], summary["new"], summary["duplicates"], summary["rejected"]) == (1, 1, 0, [])
    assert {"linked", "flagged", "cases_opened", "cases_updated"} <= set(summary)


@pytest.mark.django_db(transaction=True)
def test_pushed_list_is_ingested_right_away_outside_a_transaction(partner):
    client = partner("social:write")
    reply = item("2", in_reply_to="1", conversation_id="1", mentions=["AcmeSupport"],
                 references=[{"kind": "reply", "external_id": "1"}])  # fmt: skip
    response = push(client, [item("1"), reply, item("3", author=None)])
    assert response.status_code == 202
    assert response.json()["status"] == "done"
    assert Post.objects.count() == 3
    stored = Post.objects.get(external_id="2")
    assert (stored.in_reply_to, stored.conversation, stored.mentions) == ("1", "1", ["acmesupport"])
    assert Post.objects.get(external_id="3").author is None


def test_the_same_body_twice_is_one_batch_and_each_post_once(partner, django_capture_on_commit_callbacks):
    client = partner("social:write")
    body = [item("1"), item("2")]
    with django_capture_on_commit_callbacks(execute=True):
        first = push(client, body)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = push(client, body)
    assert first.json()["batch"] == second.json()["batch"]
    assert callbacks == []
    assert Post.objects.count() == 2 and InboundBatch.objects.count() == 1

    # The same post again with fresh metrics is a duplicate whose counters move.
    with django_capture_on_commit_callbacks(execute=True):
        third = push(client, item("1", metrics={"like_count": 40}))
    summary = InboundBatch.objects.get(pk=third.json()["batch"]).summary
    assert (summary["new"], summary["duplicates"]) == (0, 1)
    assert Post.objects.get(external_id="1").likes == 40
    assert Post.objects.count() == 2


def test_idempotency_key_replays_the_first_answer(partner, django_capture_on_commit_callbacks):
    client = partner("social:write")
    with django_capture_on_commit_callbacks(execute=True):
        first = push(client, item(), **{"Idempotency-Key": "push-1"})
    again = push(client, item(), **{"Idempotency-Key": "push-1"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    other = push(client, item("2"), **{"Idempotency-Key": "push-1"})
    assert other.status_code == 409
    assert InboundBatch.objects.count() == 1 and Post.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (item(created_at="yesterday"), "created_at"),
        (item(created_at="2026-11-22T19:03:41"), "created_at"),
        (item(network="myspace"), "network"),
        (item(external_id=""), "external_id"),
        (item(external_id="9" * 101), "external_id"),
        (item(text=None), "text"),
        (item(author={"handle": "no_id"}), "author.external_id"),
        (item(author={"external_id": "1", "followers": -3}), "author.followers"),
        (item(author="marie"), "author"),
        (item(metrics={"like_count": "many"}), "metrics.like_count"),
        (item(metrics=[1]), "metrics"),
        (item(url="not a url"), "url"),
        (item(url="https://x.com/" + "a" * 500), "url"),
        (item(language="x" * 40), "language"),
        (item(in_reply_to={"id": 1}), "in_reply_to"),
        (item(references=[{"kind": "like", "external_id": "1"}]), "references"),
        (item(mentions="AcmeSupport"), "mentions"),
    ],
)
def test_an_invalid_post_is_refused_naming_the_field(partner, body, field):
    response = push(partner("social:write"), body)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert all(isinstance(message, str) and message for message in errors[field])
    assert InboundBatch.objects.count() == 0


def test_in_a_list_errors_are_prefixed_with_the_index_and_nothing_is_kept(partner):
    body = [
        item("1"),
        item("2"),
        item("3"),
        item("4", created_at="soon"),
        "a string",
        item("6", network=None),
    ]
    response = push(partner("social:write"), body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"3.created_at", "4", "5.network"}
    assert "ISO 8601" in errors["3.created_at"][0]
    assert InboundBatch.objects.count() == 0 and Post.objects.count() == 0


@pytest.mark.parametrize("body", [[], "hello", 42])
def test_a_body_that_is_no_post_is_refused(partner, body):
    response = push(partner("social:write"), body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["non_field_errors"]


def test_at_most_1000_posts_per_request(partner):
    response = push(partner("social:write"), [item(str(n)) for n in range(1001)])
    assert response.status_code == 400
    assert "1000" in response.json()["errors"]["non_field_errors"][0]
    assert InboundBatch.objects.count() == 0


def test_broken_json_and_forms_are_refused(partner):
    client = partner("social:write")
    broken = client.post(POSTS, data=b'{"network": ', content_type="application/json")
    assert broken.status_code == 400
    form = client.post(POSTS, data={"network": "x"})
    assert form.status_code == 415


def test_unknown_batch_is_404_and_batches_need_a_social_scope(partner):
    assert partner("social:write").get(f"{POSTS}batches/{uuid.uuid4()}/").status_code == 404
    assert partner("social:read").get(f"{POSTS}batches/{uuid.uuid4()}/").status_code == 404
    assert partner("customers:read").get(f"{POSTS}batches/{uuid.uuid4()}/").status_code == 403


# --- the list ------------------------------------------------------------------------


def store(*records: dict[str, Any]) -> None:
    post_ingest_batch(posts=[post_from_contract(r) for r in records], source=Post.Source.API)


@pytest.fixture
def posts(db: None) -> dict[str, Any]:
    customer_identity = SocialIdentityFactory(network="x", external_id="2899107652", handle="marie_lfv")
    store(
        item("1", text="Love the Acme kettle, best purchase this year!", created_at="2026-11-01T10:00:00Z"),
        item("2", text="Mon grille-pain Acme est tombé en panne, service client nul.",
             created_at="2026-11-02T10:00:00Z", author={"external_id": "77", "handle": "leo"}),
        item("3", network="facebook", text="Is the Acme shop in Lyon open on Sunday?",
             created_at="2026-11-03T10:00:00Z", author=None),
    )  # fmt: skip
    return {"customer": customer_identity.customer}


def test_list_shape(partner, posts):
    response = partner("social:read").get(POSTS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and [p["external_id"] for p in body["results"]] == ["3", "2", "1"]
    first = body["results"][2]
    assert first["customer"] == posts["customer"].pk
    assert first["author"]["handle"] == "marie_lfv" and first["author"]["followers"] == 1342
    assert first["author"]["name"] == "Marie Lefèvre"
    assert first["sentiment"]["label"] == "positive" and 0 < first["sentiment"]["compound"] <= 1
    assert first["language"] == "en"
    assert first["metrics"] == {"likes": 14, "replies": 0, "reposts": 2, "quotes": 0}
    assert set(first) >= {"id", "network", "url", "created_at", "flagged", "flag_reasons", "case"}
    unlinked = body["results"][1]
    assert unlinked["customer"] is None and unlinked["language"] == "fr"
    assert body["results"][0]["author"] is None and body["results"][0]["customer"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"network": "facebook"}, ["3"]),
        ({"sentiment": "negative"}, ["2"]),
        ({"language": "FR"}, ["2"]),
        ({"since": "2026-11-02T00:00:00Z"}, ["3", "2"]),
        ({"until": "2026-11-02T00:00:00Z"}, ["1"]),
        ({"q": "lyon"}, ["3"]),
        ({"flagged": "true"}, ["2"]),
    ],
)
def test_list_filters(partner, posts, query, expected):
    response = partner("social:read").get(POSTS, query)
    assert response.status_code == 200
    assert [p["external_id"] for p in response.json()["results"]] == expected


def test_list_by_customer(partner, posts):
    response = partner("social:read").get(POSTS, {"customer": posts["customer"].pk})
    assert [p["external_id"] for p in response.json()["results"]] == ["1"]


def test_invalid_filter_is_a_400(partner, posts):
    response = partner("social:read").get(POSTS, {"sentiment": "furious", "since": "last week"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"sentiment", "since"}


def test_list_reads_a_fixed_number_of_queries(partner):
    client = partner("social:read")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(POSTS).status_code == 200
        return len(captured)

    store(*(item(str(n), author={"external_id": str(100 + n), "handle": f"h{n}"}) for n in range(3)))
    few = queries()
    store(*(item(str(n), author={"external_id": str(100 + n), "handle": f"h{n}"}) for n in range(3, 30)))
    assert queries() == few


def test_staff_use_the_list_with_their_session(agent, posts):
    client = APIClient()
    client.force_login(agent)
    assert client.get(POSTS).json()["count"] == 3
    # Agents read posts; pushing is for partners (and admins).
    assert push(client, item("9")).status_code == 403
