"""The Facebook webhook endpoint, fed the Page webhook bodies Facebook really sends
(tests/fixtures/facebook, from restfb's test resources), signed here with a test secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from social.models import ConnectedAccount, InboundBatch, Post
from social.providers.facebook import parse_webhook

pytestmark = pytest.mark.django_db

URL = "/webhooks/facebook/"
SECRET = "test-app-secret"
TOKEN = "test-verify-token"
DATA = Path(__file__).resolve().parent.parent / "fixtures" / "facebook"
WEBHOOKS = sorted(
    path.name for path in DATA.glob("*.json") if json.loads(path.read_text()).get("object") == "page"
)
PAGE_ID = "1234567890321"


@pytest.fixture(autouse=True)
def _facebook_settings(settings: Any) -> None:
    settings.FACEBOOK_APP_SECRET = SECRET
    settings.FACEBOOK_WEBHOOK_VERIFY_TOKEN = TOKEN


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(body: bytes, signature: str | None = None) -> Any:
    headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    return Client().post(URL, data=body, content_type="application/json", headers=headers)


def test_there_are_21_recorded_webhooks() -> None:
    assert len(WEBHOOKS) == 21


# --- handshake -----------------------------------------------------------------------


def test_handshake_answers_the_challenge_with_the_right_token() -> None:
    response = Client().get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_handshake_refuses_anything_else(query: dict[str, str]) -> None:
    assert Client().get(URL, query).status_code == 403


def test_handshake_is_refused_while_no_token_is_configured(settings: Any) -> None:
    settings.FACEBOOK_WEBHOOK_VERIFY_TOKEN = ""
    response = Client().get(URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
    assert response.status_code == 403


# --- signature -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        sign(b"another body"),
        sign((DATA / "feed-post-add-25.json").read_bytes(), secret="not-the-secret"),
        sign((DATA / "feed-post-add-25.json").read_bytes()).replace("sha256=", "sha1="),
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(
    signature: str | None, django_capture_on_commit_callbacks
):
    body = (DATA / "feed-post-add-25.json").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(body, signature)
    assert response.status_code == 403
    assert InboundBatch.objects.count() == 0 and Post.objects.count() == 0


def test_the_signature_covers_the_exact_bytes(django_capture_on_commit_callbacks):
    raw = (DATA / "feed-post-add-25.json").read_bytes()
    same_json_other_bytes = json.dumps(json.loads(raw)).encode()
    assert same_json_other_bytes != raw
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(same_json_other_bytes, sign(raw)).status_code == 403
    assert Post.objects.count() == 0


@override_settings(FACEBOOK_APP_SECRET="")
def test_without_an_app_secret_every_delivery_is_refused() -> None:
    body = (DATA / "feed-post-add-25.json").read_bytes()
    assert deliver(body, sign(body, secret="")).status_code == 403
    assert InboundBatch.objects.count() == 0


# --- deliveries ----------------------------------------------------------------------


@pytest.mark.parametrize("name", WEBHOOKS)
def test_every_recorded_webhook_is_accepted(name: str, django_capture_on_commit_callbacks):
    body = (DATA / name).read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(body, sign(body))
    assert response.status_code == 200, response.content
    expected = {post.external_id for post in parse_webhook(body).posts}
    assert set(Post.objects.values_list("external_id", flat=True)) == expected
    assert len(response.json()["batches"]) == (1 if expected else 0)
    assert all(post.source == Post.Source.WEBHOOK for post in Post.objects.all())


def test_the_same_webhook_twice_stores_each_post_once(django_capture_on_commit_callbacks):
    account = ConnectedAccount.objects.create(name="Acme page", provider="facebook", network="facebook",
                                              external_id=PAGE_ID)  # fmt: skip
    body = (DATA / "feed-comment-add-25.json").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(body, sign(body))
    with django_capture_on_commit_callbacks(execute=True) as again:
        second = deliver(body, sign(body))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json() and again == []
    comment = Post.objects.get()
    assert comment.external_id == "901097836652708_903438993085259"
    assert comment.in_reply_to == comment.conversation == "1234567890321_901097836652708"
    assert comment.author is not None and comment.author.display_name == "Tester"
    batch = InboundBatch.objects.get()
    assert (batch.account, batch.source, batch.status) == (
        account,
        Post.Source.WEBHOOK,
        InboundBatch.Status.DONE,
    )

    # The newer format of the same comment is the same post.
    newer = (DATA / "feed-comment-add-211.json").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(newer, sign(newer)).status_code == 200
    assert Post.objects.count() == 1


def test_a_reply_to_a_comment_stays_in_the_post_conversation(django_capture_on_commit_callbacks):
    payload = json.loads((DATA / "feed-comment-add-211.json").read_text())
    value = payload["entry"][0]["changes"][0]["value"]
    value.update(comment_id="901097836652708_903438993085300", parent_id="901097836652708_903438993085259")
    body = json.dumps(payload).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(body, sign(body)).status_code == 200
    reply = Post.objects.get()
    assert reply.in_reply_to == "901097836652708_903438993085259"
    assert reply.conversation == "1234567890321_901097836652708"
    assert reply.references == [{"kind": "reply", "external_id": "901097836652708_903438993085259"}]


def test_two_pages_in_one_delivery_make_a_batch_each(django_capture_on_commit_callbacks):
    first = json.loads((DATA / "feed-post-add-25.json").read_text())["entry"][0]
    second = json.loads((DATA / "feed-status-add-25.json").read_text())["entry"][0]
    second["id"] = "555"
    body = json.dumps({"object": "page", "entry": [first, second]}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(body, sign(body))
    assert len(response.json()["batches"]) == 2
    assert Post.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [b'{"object": "instagram", "entry": []}', b"[1, 2]", b"not json", b'{"object": "page", "entry": 3}'],
)
def test_a_body_that_is_not_a_page_webhook_is_a_400(body: bytes) -> None:
    assert deliver(body, sign(body)).status_code == 400
    assert InboundBatch.objects.count() == 0


def test_other_methods_are_not_allowed() -> None:
    assert Client().put(URL, data=b"{}", content_type="application/json").status_code == 405
