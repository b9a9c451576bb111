"""POST /api/v1/cases/{id}/replies/: answer a case through the network, once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from rest_framework.test import APIClient

from scrm.actors import Actor
from social.ingestion import post_ingest_batch
from social.models import Case, Post, Reply
from social.providers.base import ProviderAuthor, ProviderPost
from social.services import account_create

pytestmark = pytest.mark.django_db

V2 = Path(__file__).resolve().parent.parent / "fixtures" / "x_v2"
TWEETS = "https://api.twitter.com/2/tweets"


@pytest.fixture
def case(db: None) -> Case:
    account_create(
        name="Acme on X", provider="x", actor=Actor.system("test"),
        credentials={"bearer_token": "b", "consumer_key": "ck", "consumer_secret": "cs", "access_token": "at",
                     "access_token_secret": "ats"},
    )  # fmt: skip
    author = ProviderAuthor(external_id="100", handle="alice_w", name="Alice Walker", followers=10)
    post = ProviderPost(network="x", external_id="55", author=author, text="Refund please, terrible",
                        created_at=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    post_ingest_batch(posts=[post], source=Post.Source.API)
    return Case.objects.get()


@responses.activate
def test_partner_reply_is_sent_once_per_idempotency_key(
    case: Case, partner: Callable[..., APIClient], django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    responses.post(TWEETS, json=json.loads((V2 / "tweet_create.json").read_text()), status=201)
    client = partner("social:write", "social:read")
    url = f"/api/v1/cases/{case.pk}/replies/"
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
            answer = client.post(url, {"text": "Sorry Alice!"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
        assert answer.status_code == 202, answer.content
    assert Reply.objects.count() == 1 and len(responses.calls) == 1
    listed = client.get(url).json()
    assert [(r["status"], r["in_reply_to"]) for r in listed] == [("sent", "55")]


def test_reply_errors(case: Case, partner: Callable[..., APIClient]) -> None:
    writer = partner("social:write")
    url = f"/api/v1/cases/{case.pk}/replies/"
    assert writer.post(url, {"text": "  "}, format="json").json() == {
        "errors": {"text": ["Write the reply first."]}
    }
    too_long = writer.post(url, {"text": "x" * 300}, format="json")
    assert too_long.status_code == 400 and "text" in too_long.json()["errors"]
    assert writer.post("/api/v1/cases/999999/replies/", {"text": "hi"}, format="json").status_code == 404
    assert partner("social:read").post(url, {"text": "hi"}, format="json").status_code == 403
    assert APIClient().post(url, {"text": "hi"}, format="json").status_code == 401
    assert not Reply.objects.exists()
