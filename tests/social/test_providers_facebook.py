"""Facebook provider against real Graph responses and Page webhook bodies (from restfb's
test resources, names anonymised), replayed with `responses`."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import facebook
import pytest
import requests
import responses

from social.providers.base import AuthError, FetchQuery, ProviderError, RateLimited, Stream, TransientError
from social.providers.facebook import FacebookProvider, make_graph, parse_webhook, verify_signature

DATA = Path(__file__).resolve().parent.parent / "fixtures" / "facebook"
GRAPH = "https://graph.facebook.com/v21.0"
PAGE_ID = "74133697733"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def provider(**kwargs: Any) -> FacebookProvider:
    return FacebookProvider(page_id=PAGE_ID, access_token="REDACTED", **kwargs)


def sent_query(call_index: int = 0) -> dict[str, list[str]]:
    return parse_qs(urlsplit(responses.calls[call_index].request.url).query)


def test_sdk_refuses_current_versions_and_the_workaround_uses_them() -> None:
    with pytest.raises(facebook.GraphAPIError):
        facebook.GraphAPI(access_token="t", version="21.0")
    assert make_graph("t").version == "v21.0"
    assert make_graph("t", "22.0").version == "v22.0"


@responses.activate
def test_feed_page_from_recorded_response() -> None:
    responses.get(f"{GRAPH}/{PAGE_ID}/feed", json=load("feed-got.json"))
    page = provider().fetch(FetchQuery(stream=Stream.FEED, limit=25))

    top_level = [p for p in page.posts if p.in_reply_to_external_id is None]
    comments = [p for p in page.posts if p.in_reply_to_external_id is not None]
    assert len(top_level) == 25 and comments and not page.problems
    first = top_level[0]
    assert first.author is not None and first.author.name == "Alex Example"
    assert first.created_at == datetime(2014, 9, 20, 12, 59, 48, tzinfo=UTC)
    assert first.url == "https://www.facebook.com/74133697733_10152424438657734"

    sevilla = next(p for p in top_level if p.external_id == "74133697733_10152424266332734")
    assert sevilla.metrics["reactions"] == 517
    tagged = next(c for c in comments if c.external_id == "10152287136527187_10152287164577187")
    assert tagged.in_reply_to_external_id == sevilla.external_id == tagged.conversation_id
    assert tagged.mentions == ("100001564391974",)
    assert tagged.metrics == {"likes": 1}

    # The recorded page paginates by time: the cursor carries `until`, not the token.
    assert page.next_cursor == "until=1411172656"
    assert sent_query()["access_token"] == ["REDACTED"]
    assert "comments.summary(true)" in sent_query()["fields"][0]


@responses.activate
def test_next_page_sends_the_cursor() -> None:
    responses.get(f"{GRAPH}/{PAGE_ID}/feed", json={"data": []})
    page = provider().fetch(FetchQuery(stream=Stream.FEED, cursor="until=1411172656"))
    assert sent_query()["until"] == ["1411172656"]
    assert page.posts == () and page.next_cursor is None


@responses.activate
def test_comments_edge_from_recorded_response() -> None:
    post_id = "1234567890123_456789012345"
    responses.get(f"{GRAPH}/{post_id}/comments", json=load("post-with-comment.json")["comments"])
    page = provider().fetch(FetchQuery(stream=Stream.COMMENTS, target=post_id))
    (comment,) = page.posts
    assert (comment.text, comment.external_id, comment.in_reply_to_external_id) == (
        "grandioses grau",
        "123456789_9876543",
        post_id,
    )
    assert comment.author is not None and comment.author.name == "Test User"
    assert page.next_cursor is None  # cursors present, but no `next`: the last page


@responses.activate
def test_reply_posts_a_comment_with_appsecret_proof() -> None:
    responses.post(f"{GRAPH}/1234567890123_456789012345/comments", json={"id": "1234567890123_456789012399"})
    result = provider(app_secret="shh").reply("1234567890123_456789012345", "Merci pour votre retour !")
    assert result.external_id == "1234567890123_456789012399"
    form = parse_qs(responses.calls[0].request.body)
    assert form["message"] == ["Merci pour votre retour !"]
    assert form["appsecret_proof"] == [hmac.new(b"shh", b"REDACTED", hashlib.sha256).hexdigest()]


@responses.activate
def test_verify_credentials_checks_the_token_is_the_page() -> None:
    responses.get(f"{GRAPH}/me", json={"id": PAGE_ID, "name": "Game of Thrones"})
    assert provider().verify_credentials() == {"id": PAGE_ID, "name": "Game of Thrones"}
    responses.get(f"{GRAPH}/me", json={"id": "999", "name": "Someone else"})
    with pytest.raises(AuthError):
        provider().verify_credentials()


def graph_error(code: int, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": f"error {code}", "type": "OAuthException", "code": code, **extra}}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (190, AuthError),
        (102, AuthError),
        (10, AuthError),
        (200, AuthError),
        (4, RateLimited),
        (17, RateLimited),
        (32, RateLimited),
        (613, RateLimited),
        (80001, RateLimited),
        (1, TransientError),
        (2, TransientError),
    ],
)
@responses.activate
def test_graph_error_codes(code: int, expected: type[ProviderError]) -> None:
    responses.get(f"{GRAPH}/{PAGE_ID}/feed", json=graph_error(code), status=400)
    with pytest.raises(expected) as raised:
        provider().fetch(FetchQuery(stream=Stream.FEED))
    assert raised.value.retryable is (expected is not AuthError)


@responses.activate
def test_rate_limit_reads_time_to_regain_access() -> None:
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 12}]}
    responses.get(
        f"{GRAPH}/{PAGE_ID}/feed",
        json=graph_error(80001),
        status=400,
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    with pytest.raises(RateLimited) as raised:
        provider().fetch(FetchQuery(stream=Stream.FEED))
    assert raised.value.retry_at is not None
    wait = raised.value.retry_at - datetime.now(tz=UTC)
    assert timedelta(minutes=11) < wait <= timedelta(minutes=12)


@responses.activate
def test_other_failures() -> None:
    feed = f"{GRAPH}/{PAGE_ID}/feed"
    responses.get(feed, json=graph_error(100), status=400)
    with pytest.raises(ProviderError) as raised:
        provider().fetch(FetchQuery(stream=Stream.FEED))
    assert type(raised.value) is ProviderError and not raised.value.retryable

    responses.replace(responses.GET, feed, json=graph_error(100, is_transient=True), status=500)
    with pytest.raises(TransientError):
        provider().fetch(FetchQuery(stream=Stream.FEED))

    responses.replace(
        responses.GET, feed, body="<html>502 Bad Gateway</html>", status=502, content_type="text/html"
    )
    with pytest.raises(TransientError):
        provider().fetch(FetchQuery(stream=Stream.FEED))

    responses.replace(responses.GET, feed, body=requests.ConnectionError("reset"))
    with pytest.raises(TransientError):
        provider().fetch(FetchQuery(stream=Stream.FEED))

    with pytest.raises(ProviderError):
        provider().fetch(FetchQuery(stream=Stream.SEARCH, target="acme"))


# --- webhooks ------------------------------------------------------------------------


def test_signature_is_checked_on_the_raw_bytes() -> None:
    body = (DATA / "feed-comment-add-211.json").read_bytes()
    good = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert verify_signature(body, good, "app-secret")
    assert not verify_signature(body + b" ", good, "app-secret")
    assert not verify_signature(body, good, "other-secret")
    assert not verify_signature(body, good.replace("sha256=", "sha1="), "app-secret")
    assert not verify_signature(body, None, "app-secret")


WEBHOOK_POSTS = {
    # file: (external_id, author id or None, text, in_reply_to)
    "feed-comment-add-25.json": (
        "901097836652708_903438993085259",
        "1234567890321",
        "and the next one",
        "1234567890321_901097836652708",
    ),
    "feed-comment-add-211.json": (
        "901097836652708_903438993085259",
        "1234567890321",
        "and the next one",
        "1234567890321_901097836652708",
    ),
    "feed-comment-edited-25.json": (
        "900728623356296_900744590021366",
        "1234567890321",
        "Let's see the Webhooks in action :D",
        "1234567890321_900728623356296",
    ),
    "feed-post-add-25.json": ("1234567890321_7293787835232", "8423678347823", "Let's check this", None),
    "feed-post-edit.json": ("1234567890321_7293787835232", "8423678347823", "Let's check this", None),
    "feed-status-add-25.json": (
        "1234567890321_930145403745849",
        "1234567890321",
        "This is just a short test message",
        None,
    ),
    "feed-share-add-25.json": (
        "1234567890321_98735342324352",
        "1234567890321",
        "Ein Link zu was ganz anderem: www.daserste.de",
        None,
    ),
    "mention-post-add-real.json": ("1234567890321_98722536423179", None, "A test post message", None),
    "mention-post-add.json": ("44444444_444444444", "44444444", "", None),
    "mention-comment-add.json": (
        "7363534231324_3754798971271444",
        None,
        "Just a test message",
        "1234567890321_7363534231324",
    ),
}
NOT_POSTS = [
    "feed-reaction-add.json",
    "feed-reaction-edit.json",
    "feed-reaction-remove.json",
    "feed-reaction-add-comment.json",
    "feed-two-entries-25.json",
    "messaging-message-basic.json",
    "messaging-message-basic-echo.json",
    "messaging-message-media-attachment.json",
    "messaging-message-reply-1.json",
    "ratings-rating-add-31.json",
]


@pytest.mark.parametrize("name", sorted(WEBHOOK_POSTS))
def test_webhook_posts_and_comments(name: str) -> None:
    batch = parse_webhook((DATA / name).read_bytes())
    (post,) = batch.posts
    author_id = post.author.external_id if post.author else None
    assert (post.external_id, author_id, post.text, post.in_reply_to_external_id) == WEBHOOK_POSTS[name]
    assert post.created_at.tzinfo is UTC and not batch.problems and not batch.removed


def test_webhook_time_falls_back_to_the_entry_time() -> None:
    (post,) = parse_webhook(load("feed-post-add-25.json")).posts
    assert post.created_at == datetime.fromtimestamp(1454707020, tz=UTC)
    (comment,) = parse_webhook(load("feed-comment-add-25.json")).posts
    assert comment.author is not None and comment.author.name == "Tester"


@pytest.mark.parametrize("name", NOT_POSTS)
def test_webhook_changes_that_are_not_posts_are_left_out(name: str) -> None:
    batch = parse_webhook(load(name))
    assert batch.posts == () and batch.removed == () and batch.problems == ()


def test_webhook_removal_and_broken_change() -> None:
    assert parse_webhook(load("feed-comment-remove-25.json")).removed == ("905578656204626_905579239537901",)
    body = load("feed-comment-add-211.json")
    del body["entry"][0]["changes"][0]["value"]["comment_id"]
    batch = parse_webhook(body)
    assert batch.posts == () and [p.location for p in batch.problems] == ["entry 0 change 0"]
    with pytest.raises(ValueError):
        parse_webhook(b'{"object": "instagram", "entry": []}')
    with pytest.raises(ValueError):
        parse_webhook(b"not json")


def test_every_copied_payload_is_exercised() -> None:
    names = {p.name for p in DATA.glob("*.json")}
    assert names == set(WEBHOOK_POSTS) | set(NOT_POSTS) | {
        "feed-comment-remove-25.json",
        "feed-got.json",
        "post-with-comment.json",
    }
