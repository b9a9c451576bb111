"""The contract every social network adapter honours.

A provider is a pure adapter: it talks to one network (or a file, or a seeded
generator) and hands back plain frozen dataclasses. It never touches the database;
the ingestion service stores what it returns.

Every failure leaves a provider as a `ProviderError` whose `retryable` flag says
whether trying again later can help, and `retry_at` says when, if the network told us.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

# Network names as stored on posts; the same values as `customers.models.Network`,
# repeated here because providers must not import Django models.
NETWORK_X = "x"
NETWORK_FACEBOOK = "facebook"
NETWORKS = frozenset({"x", "facebook", "instagram", "linkedin", "youtube", "tiktok", "foursquare"})


# "@handle" in a text, not inside an e-mail address or a word.
_HANDLE_IN_TEXT = re.compile(r"(?<![\w@.])@([A-Za-z0-9_]{1,50})\b")


def mentions_in(text: str) -> tuple[str, ...]:
    """The @handles a text names, in order, each once, without "@"."""
    return tuple(dict.fromkeys(_HANDLE_IN_TEXT.findall(text or "")))


def as_utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; refuse naive datetimes, whose zone nobody knows."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: a time zone is required")
    return moment.astimezone(UTC)


class ReferenceKind(StrEnum):
    """How a post points at another post."""

    REPLY = "reply"
    QUOTE = "quote"
    REPOST = "repost"


class Stream(StrEnum):
    """Which stream a `FetchQuery` reads."""

    SEARCH = "search"  # listening-rule terms (X recent search)
    MENTIONS = "mentions"  # posts mentioning the connected brand account
    FEED = "feed"  # a page's feed (Facebook), a file (files), the demo stream (fake)
    COMMENTS = "comments"  # comments under one post (`target` = the post id)


@dataclass(frozen=True)
class ProviderAuthor:
    """Who wrote a post, as the network identifies them (`external_id` is stable, `handle` may change)."""

    external_id: str
    handle: str = ""
    name: str = ""
    followers: int | None = None


@dataclass(frozen=True)
class ReferencedPost:
    """A link from a post to another one: a reply to, a quote of, or a repost of `external_id`."""

    kind: ReferenceKind
    external_id: str


@dataclass(frozen=True)
class ProviderPost:
    """One post or comment, normalised across networks.

    `created_at` is always an aware datetime in UTC (a naive one is refused).
    `author` is None when the network did not say who wrote it (Facebook hides
    visitors without the right page permissions; a webhook may omit the sender).
    `mentions` holds handles (or ids where the network gives no handle), without "@".
    `raw` is the network's own object, kept for audit and reprocessing.
    """

    network: str
    external_id: str
    author: ProviderAuthor | None
    text: str
    created_at: datetime
    url: str = ""
    language: str | None = None
    in_reply_to_external_id: str | None = None
    conversation_id: str | None = None
    referenced: tuple[ReferencedPost, ...] = ()
    mentions: tuple[str, ...] = ()
    metrics: Mapping[str, int] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.external_id:
            raise ValueError("a post needs an external_id")
        object.__setattr__(self, "created_at", as_utc(self.created_at))

    def as_contract(self) -> dict[str, Any]:
        """The post in the api-contract shape (`POST /api/v1/posts/`, files import)."""
        author = None
        if self.author is not None:
            author = {
                "external_id": self.author.external_id,
                "handle": self.author.handle,
                "name": self.author.name,
                "followers": self.author.followers,
            }
        return {
            "network": self.network,
            "external_id": self.external_id,
            "author": author,
            "text": self.text,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "url": self.url,
            "in_reply_to": self.in_reply_to_external_id,
            "metrics": dict(self.metrics),
        }


@dataclass(frozen=True)
class RateLimit:
    """What the network said about our request budget; any part may be unknown."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None


@dataclass(frozen=True)
class Problem:
    """An item the provider could not turn into a post; it was skipped, the rest carried on."""

    location: str  # "line 7", "entry 0 change 1", ...
    message: str


@dataclass(frozen=True)
class FetchQuery:
    """What to fetch.

    `target` is what the stream needs: search terms for SEARCH, a page id for FEED,
    a post id for COMMENTS, a file path for files. `cursor` is the opaque value a
    previous `Page.next_cursor` gave; `since_id` asks only for posts newer than it.
    """

    stream: Stream = Stream.SEARCH
    target: str = ""
    cursor: str | None = None
    since_id: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class Page:
    """One page of results.

    `next_cursor` is None when there is nothing more to read. `referenced` holds the
    posts pulled in for context (the tweet a reply answers, a quoted tweet); they did
    not match the query themselves. `newest_id` is the id to pass as `since_id` next time.
    """

    posts: tuple[ProviderPost, ...]
    next_cursor: str | None = None
    rate_limit: RateLimit | None = None
    referenced: tuple[ProviderPost, ...] = ()
    newest_id: str | None = None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class ReplyResult:
    """The reply the network accepted."""

    external_id: str
    url: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


class ProviderError(Exception):
    """A provider call failed.

    `retryable` says whether the same call can succeed later; `retry_at` (UTC) is the
    earliest moment worth trying when the network said so; `status` is the HTTP status
    when there was one. A bare ProviderError with retryable=False is a permanent
    failure of this call only (bad request, unknown post).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_at: datetime | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_at = as_utc(retry_at) if retry_at is not None else None
        self.status = status


class RateLimited(ProviderError):
    """Too many requests: retry at `retry_at` (or after a backoff when unknown)."""

    def __init__(self, message: str, *, retry_at: datetime | None = None, status: int | None = 429) -> None:
        super().__init__(message, retryable=True, retry_at=retry_at, status=status)


class AuthError(ProviderError):
    """Credentials expired, revoked or lacking a permission: permanent until a person
    reconnects the account, which the caller marks unhealthy."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, retryable=False, status=status)


class TransientError(ProviderError):
    """Network failure, timeout or a 5xx: the same call may work in a moment."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, retryable=True, status=status)


class Provider(ABC):
    """One source of posts behind the same small interface.

    Implementations raise only `ProviderError` (or a subclass) from these methods.
    """

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> Provider:
        """Build the provider from a connected account's decrypted settings."""

    @abstractmethod
    def fetch(self, query: FetchQuery) -> Page:
        """Read one page of `query`; pass `Page.next_cursor` back to read the next."""

    @abstractmethod
    def reply(self, to_external_id: str, text: str) -> ReplyResult:
        """Publish `text` as a reply to the post `to_external_id`."""

    @abstractmethod
    def verify_credentials(self) -> dict[str, Any]:
        """Check the credentials work; return who they belong to (at least `id`)."""
