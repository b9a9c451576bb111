"""Connected accounts (secrets, health, test connection), listening rules and pushed batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from django.db import connection

from scrm.actors import Actor
from scrm.errors import ValidationFailed
from social.models import ConnectedAccount, InboundBatch, Post
from social.providers.base import AuthError, ProviderError
from social.services import account_create, account_test, account_update, inbound_batch_receive, rule_create

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")
V2 = Path(__file__).resolve().parent.parent / "fixtures" / "x_v2"


def test_tokens_are_encrypted_at_rest_and_kept_when_a_form_leaves_them_empty() -> None:
    account = account_create(
        name="Acme X", provider="x", credentials={"bearer_token": "very-secret-bearer"}, actor=ACTOR
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials_encrypted FROM social_connectedaccount WHERE id = %s", [account.pk]
        )
        stored = cursor.fetchone()[0]
    assert "very-secret-bearer" not in stored
    assert ConnectedAccount.objects.get().credentials == {"bearer_token": "very-secret-bearer"}

    account_update(account=account, actor=ACTOR, credentials={"bearer_token": "", "account_id": "42"})
    assert ConnectedAccount.objects.get().credentials == {
        "bearer_token": "very-secret-bearer",
        "account_id": "42",
    }


def test_account_creation_names_each_missing_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        account_create(name=" ", provider="facebook", credentials={"page_id": "1"}, actor=ACTOR)
    assert set(refused.value.field_errors) == {"name", "access_token"}
    with pytest.raises(ValidationFailed) as refused:
        account_create(name="A", provider="myspace", credentials={}, actor=ACTOR)
    assert "provider" in refused.value.field_errors
    with pytest.raises(ValidationFailed) as refused:
        account_create(name="A", provider="fake", credentials={}, actor=ACTOR, poll_interval_seconds=1)
    assert "poll_interval_seconds" in refused.value.field_errors


def test_test_connection_fills_in_the_account_and_marks_it_healthy() -> None:
    account = account_create(
        name="Demo", provider="fake", credentials={"brand_handle": "AcmeSupport"}, actor=ACTOR
    )
    me = account_test(account=account, actor=ACTOR)
    account.refresh_from_db()
    assert me["username"] == "AcmeSupport"
    assert (account.handle, account.health) == ("AcmeSupport", ConnectedAccount.Health.HEALTHY)
    assert account.verified_at is not None


@responses.activate
def test_refused_token_marks_the_account_as_needing_attention() -> None:
    responses.get(
        "https://api.twitter.com/2/users/me",
        json=json.loads((V2 / "unauthorized.json").read_text()),
        status=401,
    )
    tokens = {
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "access_token": "at",
        "access_token_secret": "ats",
    }
    account = account_create(
        name="Acme X", provider="x", credentials={"bearer_token": "revoked", **tokens}, actor=ACTOR
    )
    with pytest.raises(AuthError):
        account_test(account=account, actor=ACTOR)
    account.refresh_from_db()
    assert account.health == ConnectedAccount.Health.UNHEALTHY and account.last_error

    account_update(account=account, actor=ACTOR, credentials={"bearer_token": "new"})
    account.refresh_from_db()
    assert account.health == ConnectedAccount.Health.UNKNOWN  # new secrets, new verdict


def test_rule_validation() -> None:
    facebook = account_create(
        name="Page", provider="facebook", credentials={"page_id": "1", "access_token": "t"}, actor=ACTOR
    )
    cases = [
        ({"stream": "search", "account": None}, "keywords"),
        ({"stream": "mentions", "account": None, "keywords": ["acme"]}, "account"),
        ({"stream": "search", "account": facebook, "keywords": ["acme"]}, "stream"),
        ({"stream": "search", "account": None, "keywords": ["acme"], "kind": "friend"}, "kind"),
    ]
    for fields, field in cases:
        values = {
            "name": "R",
            "kind": "brand",
            "keywords": [],
            "hashtags": [],
            "handles": [],
            "languages": [],
        }
        values.update(fields)  # type: ignore[arg-type]
        with pytest.raises(ValidationFailed) as refused:
            rule_create(actor=ACTOR, **values)
        assert field in refused.value.field_errors, fields
    rule = rule_create(
        actor=ACTOR, name="Acme", kind="brand", stream="search", account=None,
        keywords="Acme, Kettle 2\nacme", hashtags="#acme", handles="@AcmeSupport", languages="EN, fr",
    )  # fmt: skip
    assert (rule.keywords, rule.hashtags, rule.handles, rule.languages) == (
        ["Acme", "Kettle 2"], ["acme"], ["AcmeSupport"], ["en", "fr"],
    )  # fmt: skip


def test_the_same_push_twice_is_one_batch(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    items = [
        {"network": "x", "external_id": "1", "text": "Acme is great", "created_at": "2026-11-01T10:00:00Z",
         "author": {"external_id": "9", "handle": "jo"}},
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        first, created = inbound_batch_receive(source=Post.Source.API, items=items)
    assert created
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again, created_again = inbound_batch_receive(source=Post.Source.API, items=items)
    assert (again.pk, created_again, callbacks) == (first.pk, False, [])
    batch = InboundBatch.objects.get()
    assert batch.status == InboundBatch.Status.DONE and batch.summary["new"] == 1
    assert Post.objects.count() == 1


@responses.activate
def test_a_bearer_token_alone_is_tested_by_looking_up_the_account() -> None:
    body = json.loads((V2 / "user_by_username.json").read_text())
    responses.get(f"https://api.twitter.com/2/users/by/username/{body['data']['username']}", json=body)
    account = account_create(
        name="Acme X",
        provider="x",
        credentials={"bearer_token": "b"},
        actor=ACTOR,
        handle=body["data"]["username"],
    )
    me = account_test(account=account, actor=ACTOR)
    account.refresh_from_db()
    assert me["id"] == account.external_id == body["data"]["id"]
    assert responses.calls[0].request.headers["Authorization"] == "Bearer b"
    nameless = account_create(name="Anonymous", provider="x", credentials={"bearer_token": "b"}, actor=ACTOR)
    with pytest.raises(ProviderError, match="id or handle"):
        account_test(account=nameless, actor=ACTOR)
