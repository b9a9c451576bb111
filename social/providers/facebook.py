"""Facebook Pages through facebook-sdk: page feed and comments, replies to comments.

facebook-sdk 3.1.0 only accepts Graph versions 2.8-3.1 in its constructor, while
Facebook retired those long ago. The client is built with "3.1" and its `version`
attribute then set to the version we really use, which is what every request URL is
built from (see `make_graph`).

Webhooks: `verify_signature` checks X-Hub-Signature-256 and `parse_webhook` turns a
Page webhook body into posts, so the HTTP endpoint only has to call them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import facebook
import requests

from .base import (
    NETWORK_FACEBOOK,
    AuthError,
    FetchQuery,
    Page,
    Problem,
    Provider,
    ProviderAuthor,
    ProviderError,
    ProviderPost,
    RateLimited,
    ReferencedPost,
    ReferenceKind,
    ReplyResult,
    Stream,
    TransientError,
)

GRAPH_VERSION = "21.0"
COMMENT_FIELDS = "id,from,message,message_tags,created_time,like_count,permalink_url,parent{id}"
POST_FIELDS = (
    "id,from,message,message_tags,created_time,permalink_url,shares,"
    f"reactions.summary(total_count).limit(0),comments.summary(true){{{COMMENT_FIELDS}}}"
)
_EDGES = {Stream.FEED: "feed", Stream.MENTIONS: "tagged", Stream.COMMENTS: "comments"}
# Graph error codes (developers.facebook.com/docs/graph-api/guides/error-handling):
# 102/190 session or token expired, 3/10/200-299 missing capability or permission.
_AUTH_CODES = frozenset({3, 10, 102, 190, *range(200, 300)})
# 4/17/32/341/613 app, user, page and custom throttling; 368 temporary policy block;
# 80001-80014 business-use-case throttling.
_RATE_CODES = frozenset({4, 17, 32, 341, 368, 613, *range(80001, 80015)})
_TRANSIENT_CODES = frozenset({1, 2})
_CURSOR_DROPPED = frozenset({"access_token", "fields", "limit", "appsecret_proof"})


def make_graph(
    access_token: str, version: str = GRAPH_VERSION, session: requests.Session | None = None
) -> Any:
    """A facebook.GraphAPI talking to Graph `version` ("21.0"), which its constructor refuses."""
    graph = facebook.GraphAPI(access_token=access_token, version="3.1", session=session, timeout=30)
    graph.version = f"v{version}"
    return graph


def parse_time(value: Any) -> datetime:
    """Graph times: ISO 8601 with "+0000" (Graph reads) or epoch seconds (webhooks)."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value), tz=UTC)
    return datetime.fromisoformat(str(value))


def author_from(obj: Mapping[str, Any]) -> ProviderAuthor | None:
    """The `from` object (or the older `sender_id`/`sender_name` pair) as an author."""
    sender = obj.get("from")
    if isinstance(sender, Mapping) and sender.get("id") is not None:
        return ProviderAuthor(external_id=str(sender["id"]), name=sender.get("name", ""))
    if obj.get("sender_id") is not None:
        return ProviderAuthor(external_id=str(obj["sender_id"]), name=obj.get("sender_name", ""))
    return None


def _total(obj: Mapping[str, Any], edge: str) -> int | None:
    summary = (obj.get(edge) or {}).get("summary") or {}
    count = summary.get("total_count")
    return count if isinstance(count, int) else None


def post_from_graph(obj: Mapping[str, Any], *, parent_id: str | None = None) -> ProviderPost:
    """A Graph post or comment object as a ProviderPost; `parent_id` marks a comment's post."""
    object_id = str(obj["id"])
    reply_to = str((obj.get("parent") or {}).get("id") or parent_id) if parent_id else None
    metrics = {
        "reactions": _total(obj, "reactions") if "reactions" in obj else _total(obj, "likes"),
        "comments": _total(obj, "comments"),
        "shares": (obj.get("shares") or {}).get("count"),
        "likes": obj.get("like_count"),
    }
    return ProviderPost(
        network=NETWORK_FACEBOOK,
        external_id=object_id,
        author=author_from(obj),
        text=obj.get("message", ""),
        created_at=parse_time(obj["created_time"]),
        url=obj.get("permalink_url") or f"https://www.facebook.com/{object_id}",
        in_reply_to_external_id=reply_to,
        conversation_id=parent_id or object_id,
        referenced=(ReferencedPost(kind=ReferenceKind.REPLY, external_id=reply_to),) if reply_to else (),
        mentions=tuple(str(tag["id"]) for tag in obj.get("message_tags") or () if "id" in tag),
        metrics={name: value for name, value in metrics.items() if isinstance(value, int)},
        raw={key: value for key, value in obj.items() if key not in ("comments", "likes")},
    )


def next_cursor(paging: Mapping[str, Any] | None) -> str | None:
    """The query arguments that read the next page, as an opaque string, or None at the end."""
    if not paging or not paging.get("next"):
        return None
    after = (paging.get("cursors") or {}).get("after")
    if after:
        return urlencode({"after": after})
    args = [(k, v) for k, v in parse_qsl(urlsplit(paging["next"]).query) if k not in _CURSOR_DROPPED]
    return urlencode(args) or None


def page_from_edge(body: Mapping[str, Any], *, parent_id: str | None = None) -> Page:
    """A Graph edge response (`data`, `paging`) as a Page; nested comments become posts too."""
    posts: list[ProviderPost] = []
    problems: list[Problem] = []
    for index, obj in enumerate(body.get("data") or ()):
        try:
            posts.append(post_from_graph(obj, parent_id=parent_id))
            posts.extend(
                post_from_graph(comment, parent_id=str(obj["id"]))
                for comment in (obj.get("comments") or {}).get("data") or ()
            )
        except (KeyError, TypeError, ValueError) as error:
            problems.append(Problem(location=f"data[{index}]", message=f"unreadable object: {error!r}"))
    # Graph pages have no "newest id": the next pass asks for posts `since` the newest time seen.
    newest = max((post.created_at for post in posts), default=None)
    return Page(
        posts=tuple(posts),
        next_cursor=next_cursor(body.get("paging")),
        problems=tuple(problems),
        newest_id=str(int(newest.timestamp())) if newest else None,
    )


def _regain_access_at(headers: Mapping[str, str]) -> datetime | None:
    """When throttling ends, from X-Business-Use-Case-Usage (minutes to wait), if sent."""
    try:
        usage = json.loads(headers.get("x-business-use-case-usage", ""))
        minutes = max(entry["estimated_time_to_regain_access"] for v in usage.values() for entry in v)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return datetime.now(tz=UTC) + timedelta(minutes=minutes)


def error_from_graph(
    error: facebook.GraphAPIError, headers: Mapping[str, str] | None = None
) -> ProviderError:
    """The ProviderError subclass a Graph error code calls for."""
    code = error.code if isinstance(error.code, int) else None
    detail = error.result.get("error", {}) if isinstance(error.result, Mapping) else {}
    message = f"Facebook error {code}: {error.message}"
    if code in _AUTH_CODES:
        return AuthError(message)
    if code in _RATE_CODES:
        return RateLimited(message, retry_at=_regain_access_at(headers or {}), status=None)
    if code is None or code in _TRANSIENT_CODES or detail.get("is_transient"):
        return TransientError(message)
    return ProviderError(message, retryable=False)


class FacebookProvider(Provider):
    """A Facebook Page: FEED (the page's feed), MENTIONS (posts tagging the page),
    COMMENTS (under the post `target`); replies are comments posted as the page.

    `access_token` is a Page access token; with `app_secret` every call carries an
    appsecret_proof.
    """

    name = "facebook"

    def __init__(
        self,
        *,
        page_id: str,
        access_token: str,
        app_secret: str | None = None,
        graph_version: str = GRAPH_VERSION,
    ) -> None:
        self.page_id = page_id
        self.session = requests.Session()
        self.last_headers: Mapping[str, str] = {}
        self.session.hooks["response"].append(self._remember_headers)
        self.graph = make_graph(access_token, graph_version, self.session)
        self.proof: dict[str, str] = {}
        if app_secret:
            digest = hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
            self.proof = {"appsecret_proof": digest}

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> FacebookProvider:
        """Keys: page_id, access_token (required), app_secret, graph_version."""
        return cls(
            page_id=credentials["page_id"],
            access_token=credentials["access_token"],
            app_secret=credentials.get("app_secret"),
            graph_version=credentials.get("graph_version") or GRAPH_VERSION,
        )

    def _remember_headers(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_headers = response.headers

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except facebook.GraphAPIError as error:
            raise error_from_graph(error, self.last_headers) from error
        except requests.RequestException as error:
            raise TransientError(f"Facebook unreachable: {error}") from error
        except KeyError as error:  # facebook-sdk reads content-type unguarded: a broken response
            raise TransientError(f"Facebook sent an unreadable response: {error!r}") from error

    def fetch(self, query: FetchQuery) -> Page:
        """One page of the page's feed, its mentions, or a post's comments."""
        edge = _EDGES.get(query.stream)
        if edge is None:
            raise ProviderError(f"Facebook cannot read the {query.stream} stream", retryable=False)
        target = query.target or self.page_id
        fields = COMMENT_FIELDS if query.stream is Stream.COMMENTS else POST_FIELDS
        args: dict[str, Any] = {"fields": fields, "limit": min(query.limit, 100), **self.proof}
        if query.since_id and not query.cursor:
            args["since"] = query.since_id  # Graph reads it as a Unix time
        args.update(parse_qsl(query.cursor or ""))
        with self._translate_errors():
            body = self.graph.get_connections(target, edge, **args)
        parent = target if query.stream is Stream.COMMENTS else None
        return page_from_edge(body, parent_id=parent)

    def reply(self, to_external_id: str, text: str) -> ReplyResult:
        """Comment `text` under the post or comment `to_external_id`, as the page."""
        with self._translate_errors():
            result = self.graph.put_object(to_external_id, "comments", message=text, **self.proof)
        return ReplyResult(
            external_id=str(result["id"]), url=f"https://www.facebook.com/{result['id']}", raw=result
        )

    def verify_credentials(self) -> dict[str, Any]:
        """The page the token speaks for (`id`, `name`); AuthError if it is not `page_id`."""
        with self._translate_errors():
            me = self.graph.get_object("me", fields="id,name", **self.proof)
        if str(me.get("id")) != str(self.page_id):
            raise AuthError(
                f"the token belongs to {me.get('name')!r} ({me.get('id')}), not page {self.page_id}"
            )
        return {"id": str(me["id"]), "name": me.get("name", "")}


def verify_signature(body: bytes, signature_header: str | None, app_secret: str) -> bool:
    """True when `signature_header` ("sha256=<hex>") is the HMAC-SHA256 of the raw `body`
    under `app_secret`. Compare before parsing: the body must be the exact bytes received."""
    if not signature_header or not signature_header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature_header.removeprefix("sha256=").strip().lower())


@dataclass(frozen=True)
class WebhookBatch:
    """What a Page webhook body said: new or edited `posts`, `removed` external ids,
    and `problems` for changes that could not be read. Reactions, Messenger messages
    and non-feed fields are left out (not posts)."""

    posts: tuple[ProviderPost, ...] = ()
    removed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


_POST_ITEMS = frozenset({"post", "status", "share", "photo", "video", "comment"})
_ADD_VERBS = frozenset({"add", "edit", "edited"})


def _post_from_change(value: Mapping[str, Any], entry_time: Any) -> ProviderPost:
    post_id = str(value["post_id"])
    is_comment = value["item"] == "comment"
    reply_to = str(value.get("parent_id") or post_id) if is_comment else None
    external_id = str(value["comment_id"]) if is_comment else post_id
    return ProviderPost(
        network=NETWORK_FACEBOOK,
        external_id=external_id,
        author=author_from(value),
        text=value.get("message", ""),
        created_at=parse_time(value.get("created_time") or entry_time),
        url=f"https://www.facebook.com/{external_id}",
        in_reply_to_external_id=reply_to,
        conversation_id=post_id,
        referenced=(ReferencedPost(kind=ReferenceKind.REPLY, external_id=reply_to),) if reply_to else (),
        raw=dict(value),
    )


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookBatch:
    """Parse a Page webhook body (`{"object": "page", "entry": [...]}`) into a WebhookBatch.

    Raises ValueError when the body is not JSON or not a Page webhook at all.
    """
    payload = json.loads(body) if isinstance(body, bytes | str) else body
    if not isinstance(payload, Mapping) or payload.get("object") != "page":
        raise ValueError("not a Page webhook body")
    posts: list[ProviderPost] = []
    removed: list[str] = []
    problems: list[Problem] = []
    for e, entry in enumerate(payload.get("entry") or ()):
        for c, change in enumerate(entry.get("changes") or ()):
            value = change.get("value")
            if change.get("field") not in ("feed", "mention") or not isinstance(value, Mapping):
                continue
            if value.get("item") not in _POST_ITEMS:
                continue
            try:
                if value.get("verb") == "remove":
                    removed.append(str(value.get("comment_id") or value["post_id"]))
                elif value.get("verb") in _ADD_VERBS:
                    posts.append(_post_from_change(value, entry.get("time")))
            except (KeyError, TypeError, ValueError) as error:
                problems.append(Problem(location=f"entry {e} change {c}", message=f"unreadable: {error!r}"))
    return WebhookBatch(posts=tuple(posts), removed=tuple(removed), problems=tuple(problems))
