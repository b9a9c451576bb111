"""X (Twitter) through tweepy's v2 `Client`.

Reads recent search (listening rules) and the brand account's mentions with the
expansions needed to store a post without a second call: authors, referenced tweets,
mentions and public metrics. Replies are posted with the account's user context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from .base import (
    NETWORK_X,
    AuthError,
    FetchQuery,
    Page,
    Problem,
    Provider,
    ProviderAuthor,
    ProviderError,
    ProviderPost,
    RateLimit,
    RateLimited,
    ReferencedPost,
    ReferenceKind,
    ReplyResult,
    Stream,
    TransientError,
)

TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "created_at",
    "entities",
    "in_reply_to_user_id",
    "lang",
    "public_metrics",
    "referenced_tweets",
]
USER_FIELDS = ["created_at", "description", "location", "public_metrics", "verified"]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id", "in_reply_to_user_id"]

_REFERENCE_KINDS = {
    "replied_to": ReferenceKind.REPLY,
    "quoted": ReferenceKind.QUOTE,
    "retweeted": ReferenceKind.REPOST,
}
# X ids are snowflakes: the top bits are milliseconds since this epoch.
_SNOWFLAKE_EPOCH_MS = 1288834974657


def snowflake_time(tweet_id: str) -> datetime:
    """When the tweet `tweet_id` was created, read from the id itself (UTC)."""
    millis = (int(tweet_id) >> 22) + _SNOWFLAKE_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _reset_at(headers: Mapping[str, str]) -> datetime | None:
    value = headers.get("x-rate-limit-reset")
    if value is None or not value.strip().isdigit():
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def rate_limit_from_headers(headers: Mapping[str, str]) -> RateLimit | None:
    """The `x-rate-limit-*` headers as a RateLimit, or None when X sent none."""
    if "x-rate-limit-limit" not in headers and "x-rate-limit-reset" not in headers:
        return None

    def number(name: str) -> int | None:
        value = headers.get(name, "")
        return int(value) if value.isdigit() else None

    return RateLimit(
        limit=number("x-rate-limit-limit"),
        remaining=number("x-rate-limit-remaining"),
        reset_at=_reset_at(headers),
    )


def author_from_user(user: Mapping[str, Any]) -> ProviderAuthor:
    """A v2 user object as a ProviderAuthor."""
    followers = (user.get("public_metrics") or {}).get("followers_count")
    return ProviderAuthor(
        external_id=str(user["id"]),
        handle=user.get("username", ""),
        name=user.get("name", ""),
        followers=followers,
    )


def post_from_tweet(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> ProviderPost:
    """A v2 tweet object as a ProviderPost; `users` are the `includes.users` by id.

    A tweet without `created_at` (the field was not granted) is dated from its
    snowflake id; one without `author_id` gets no author.
    """
    tweet_id = str(tweet["id"])
    author_id = tweet.get("author_id")
    author: ProviderAuthor | None = None
    if author_id is not None:
        user = users.get(str(author_id))
        author = author_from_user(user) if user else ProviderAuthor(external_id=str(author_id))
    referenced = tuple(
        ReferencedPost(kind=_REFERENCE_KINDS[ref["type"]], external_id=str(ref["id"]))
        for ref in tweet.get("referenced_tweets") or ()
        if ref.get("type") in _REFERENCE_KINDS
    )
    in_reply_to = next((r.external_id for r in referenced if r.kind is ReferenceKind.REPLY), None)
    mentions = tuple(m["username"] for m in (tweet.get("entities") or {}).get("mentions") or ())
    handle = author.handle if author and author.handle else "i/web"
    created = tweet.get("created_at")
    return ProviderPost(
        network=NETWORK_X,
        external_id=tweet_id,
        author=author,
        text=tweet.get("text", ""),
        created_at=_parse_time(created) if created else snowflake_time(tweet_id),
        url=f"https://x.com/{handle}/status/{tweet_id}",
        language=tweet.get("lang"),
        in_reply_to_external_id=in_reply_to,
        conversation_id=tweet.get("conversation_id"),
        referenced=referenced,
        mentions=mentions,
        metrics=dict(tweet.get("public_metrics") or {}),
        raw=dict(tweet),
    )


def page_from_body(body: Mapping[str, Any], rate_limit: RateLimit | None = None) -> Page:
    """A v2 tweet-list response body (`data`, `includes`, `meta`) as a Page.

    Objects that cannot be read (no id) are reported as problems and skipped.
    """
    includes = body.get("includes") or {}
    users = {str(u["id"]): u for u in includes.get("users") or () if "id" in u}
    problems: list[Problem] = []

    def convert(tweets: list[Mapping[str, Any]], where: str) -> tuple[ProviderPost, ...]:
        posts = []
        for index, tweet in enumerate(tweets):
            try:
                posts.append(post_from_tweet(tweet, users))
            except (KeyError, TypeError, ValueError) as error:
                problems.append(Problem(location=f"{where}[{index}]", message=f"unreadable tweet: {error!r}"))
        return tuple(posts)

    posts = convert(body.get("data") or [], "data")
    referenced = convert(includes.get("tweets") or [], "includes.tweets")
    meta = body.get("meta") or {}
    return Page(
        posts=posts,
        next_cursor=meta.get("next_token"),
        rate_limit=rate_limit,
        referenced=referenced,
        newest_id=meta.get("newest_id"),
        problems=tuple(problems),
    )


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn tweepy and requests failures into ProviderError subclasses."""
    try:
        yield
    except tweepy.TooManyRequests as error:
        raise RateLimited(f"X rate limit: {error}", retry_at=_reset_at(error.response.headers)) from error
    except (tweepy.Unauthorized, tweepy.Forbidden) as error:
        raise AuthError(f"X refused the credentials: {error}", status=error.response.status_code) from error
    except tweepy.TwitterServerError as error:
        raise TransientError(f"X server error: {error}", status=error.response.status_code) from error
    except tweepy.HTTPException as error:
        status = error.response.status_code
        raise ProviderError(f"X error: {error}", retryable=status >= 500, status=status) from error
    except requests.RequestException as error:
        raise TransientError(f"X unreachable: {error}") from error
    except tweepy.TweepyException as error:
        raise ProviderError(f"X client error: {error}", retryable=False) from error


NEEDS_USER_TOKENS = (
    "answering as the brand needs the account's user tokens (API key and secret, access token and secret)"
)


class XProvider(Provider):
    """X v2 provider: SEARCH (recent search of `target`) and MENTIONS of the brand account.

    Reading works with an app bearer token; replying and MENTIONS without a known
    `account_id` need the account's OAuth 1.0a user tokens.
    """

    name = "x"

    def __init__(
        self,
        *,
        bearer_token: str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        access_token: str | None = None,
        access_token_secret: str | None = None,
        account_id: str | None = None,
        username: str | None = None,
        client: tweepy.Client | None = None,
    ) -> None:
        self.account_id = account_id
        self.username = (username or "").lstrip("@") or None
        self.user_auth = all((consumer_key, consumer_secret, access_token, access_token_secret))
        self.client = client or tweepy.Client(
            bearer_token=bearer_token,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=requests.Response,
            wait_on_rate_limit=False,
        )

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> XProvider:
        """Keys: bearer_token, consumer_key, consumer_secret, access_token, access_token_secret,
        account_id, username (all optional; see the class docstring for what each call needs)."""
        keys = ("bearer_token", "consumer_key", "consumer_secret", "access_token", "access_token_secret")
        return cls(
            account_id=credentials.get("account_id") or None,
            username=credentials.get("username") or None,
            **{k: credentials.get(k) for k in keys},
        )

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> requests.Response:
        with translate_errors():
            response: requests.Response = method(**kwargs)
        return response

    def fetch(self, query: FetchQuery) -> Page:
        """One page of recent search (`target` = X query) or of the account's mentions."""
        common: dict[str, Any] = {
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "expansions": EXPANSIONS,
            "since_id": query.since_id,
        }
        if query.stream is Stream.SEARCH:
            if not query.target.strip():
                raise ProviderError("X search needs a query", retryable=False)
            response = self._call(
                self.client.search_recent_tweets,
                query=query.target,
                max_results=min(max(query.limit, 10), 100),
                next_token=query.cursor,
                **common,
            )
        elif query.stream is Stream.MENTIONS:
            response = self._call(
                self.client.get_users_mentions,
                id=self._account_id(),
                max_results=min(max(query.limit, 5), 100),
                pagination_token=query.cursor,
                **common,
            )
        else:
            raise ProviderError(f"X cannot read the {query.stream} stream", retryable=False)
        return page_from_body(response.json(), rate_limit_from_headers(response.headers))

    def lookup_user(self, handle: str) -> ProviderAuthor:
        """The X user with this handle (with or without "@")."""
        response = self._call(self.client.get_user, username=handle.lstrip("@"), user_fields=USER_FIELDS)
        body = response.json()
        if "data" not in body:
            detail = "; ".join(e.get("detail", "") for e in body.get("errors", [])) or "no such user"
            raise ProviderError(f"X user @{handle}: {detail}", retryable=False, status=response.status_code)
        return author_from_user(body["data"])

    def reply(self, to_external_id: str, text: str) -> ReplyResult:
        """Post `text` as a reply to tweet `to_external_id` from the connected account."""
        if not self.user_auth:
            raise AuthError(NEEDS_USER_TOKENS)
        response = self._call(self.client.create_tweet, text=text, in_reply_to_tweet_id=to_external_id)
        data = response.json()["data"]
        return ReplyResult(
            external_id=str(data["id"]), url=f"https://x.com/i/web/status/{data['id']}", raw=data
        )

    def verify_credentials(self) -> dict[str, Any]:
        """The connected account (`id`, `username`, `name`, `followers`); AuthError if refused.

        With the account's user tokens this is "who am I"; with only a bearer token, the
        account named by `account_id` or `username` is looked up (which proves the token)."""
        if self.user_auth:
            response = self._call(self.client.get_me, user_fields=USER_FIELDS)
        elif self.account_id:
            response = self._call(self.client.get_user, id=self.account_id, user_fields=USER_FIELDS)
        elif self.username:
            response = self._call(self.client.get_user, username=self.username, user_fields=USER_FIELDS)
        else:
            raise ProviderError(
                "give the X account's id or handle (or its user tokens) to test the connection",
                retryable=False,
            )
        body = response.json()
        if "data" not in body:
            detail = "; ".join(e.get("detail", "") for e in body.get("errors", [])) or "no such account"
            raise ProviderError(f"X account: {detail}", retryable=False, status=response.status_code)
        user = body["data"]
        author = author_from_user(user)
        self.account_id = author.external_id
        return {
            "id": author.external_id,
            "username": author.handle,
            "name": author.name,
            "followers": author.followers,
        }

    def _account_id(self) -> str:
        if self.account_id is None:
            self.verify_credentials()
        assert self.account_id is not None
        return self.account_id
