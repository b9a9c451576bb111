"""Import posts from a JSONL or CSV file in the api-contract post shape.

JSONL: one object per line, exactly the `POST /api/v1/posts/` body:
`{"network", "external_id", "author": {"external_id", "handle", "name", "followers"},
"text", "created_at", "url", "in_reply_to", "metrics": {...}}` (plus optional
`language`). Blank lines are ignored. Three more optional keys keep a post's thread
when the network told us more than `in_reply_to`: `conversation_id` (the post that
started the thread), `references` (`[{"kind": "reply"|"quote"|"repost",
"external_id"}]`) and `mentions` (handles, or account ids on networks that tag by id).

CSV (header row, any column order): `network, external_id, author_external_id,
author_handle, author_name, author_followers, text, created_at, url, in_reply_to,
language, conversation_id`, and one `metric_<name>` column per metric
(`metric_like_count`, ...).

A malformed record is reported as a `Problem` naming its line and skipped; the
import carries on with the next one.
"""

from __future__ import annotations

import csv
import json
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from .base import (
    NETWORK_FACEBOOK,
    NETWORKS,
    FetchQuery,
    Page,
    Problem,
    Provider,
    ProviderAuthor,
    ProviderError,
    ProviderPost,
    ReferencedPost,
    ReferenceKind,
    ReplyResult,
    Stream,
    mentions_in,
)

METRIC_PREFIX = "metric_"
ID_LENGTH = 100  # the width of every network id column


class RecordError(ValueError):
    """A record that does not have the contract shape; the message says which field and why."""


Record = tuple[int, dict[str, Any] | RecordError]  # (line number, record or why it is unreadable)


def _text(record: Mapping[str, Any], key: str, *, required: bool = False, label: str = "") -> str | None:
    """`record[key]` as a string; errors name the field as `label` (default: `key`)."""
    value = record.get(key)
    name = label or key
    if value is None or value == "":
        if required:
            raise RecordError(f"{name}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError(f"{name}: expected a string, got {type(value).__name__}")
    return str(value)


def _count(value: Any, key: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"{key}: expected a whole number >= 0, got {value!r}")
    return value


def parse_created_at(value: str) -> datetime:
    """An ISO 8601 timestamp with a zone ("Z" accepted); a naive one is an error."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise RecordError(f"created_at: not an ISO 8601 date-time: {value!r}") from error
    if moment.tzinfo is None:
        raise RecordError(f"created_at: needs a time zone (e.g. 'Z'): {value!r}")
    return moment


def _id(record: Mapping[str, Any], key: str, *, required: bool = False, label: str = "") -> str | None:
    value = _text(record, key, required=required, label=label)
    if value is not None and len(value) > ID_LENGTH:
        raise RecordError(f"{label or key}: longer than {ID_LENGTH} characters")
    return value


def _references(value: Any) -> tuple[ReferencedPost, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecordError("references: expected a list")
    kinds = ", ".join(kind.value for kind in ReferenceKind)
    references = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise RecordError(f"references: item {index} is not an object")
        try:
            kind = ReferenceKind(str(item.get("kind")))
        except ValueError:
            raise RecordError(f"references: item {index} kind must be one of {kinds}") from None
        external_id = _id(item, "external_id", required=True, label="references.external_id")
        assert external_id is not None
        references.append(ReferencedPost(kind=kind, external_id=external_id))
    return tuple(references)


def _mentions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RecordError("mentions: expected a list of strings")
    return tuple(item.lstrip("@") for item in value if item.strip())


def _text_mentions(network: str, text: str) -> tuple[str, ...]:
    """Without a `mentions` list, the @handles of the text (Facebook tags by id, not by name)."""
    return () if network == NETWORK_FACEBOOK else mentions_in(text)


def post_from_contract(record: Mapping[str, Any]) -> ProviderPost:
    """A post in the api-contract shape as a ProviderPost; RecordError says what is wrong
    (its message starts with the field, e.g. "created_at: needs a time zone")."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected an object, got {type(record).__name__}")
    network = _text(record, "network", required=True)
    assert network is not None
    if network not in NETWORKS:
        raise RecordError(f"network: unknown {network!r} (expected one of {', '.join(sorted(NETWORKS))})")
    external_id = _id(record, "external_id", required=True)
    assert external_id is not None
    text = record.get("text")
    if not isinstance(text, str):
        raise RecordError("text: required string")
    created_at = _text(record, "created_at", required=True)
    assert created_at is not None

    author: ProviderAuthor | None = None
    raw_author = record.get("author")
    if raw_author is not None:
        if not isinstance(raw_author, Mapping):
            raise RecordError("author: expected an object")
        author_id = _id(raw_author, "external_id", required=True, label="author.external_id")
        assert author_id is not None
        author = ProviderAuthor(
            external_id=author_id,
            handle=(_text(raw_author, "handle", label="author.handle") or "").lstrip("@"),
            name=_text(raw_author, "name", label="author.name") or "",
            followers=_count(raw_author.get("followers"), "author.followers"),
        )
    metrics = record.get("metrics") or {}
    if not isinstance(metrics, Mapping):
        raise RecordError("metrics: expected an object")
    counts = {str(name): _count(value, f"metrics.{name}") for name, value in metrics.items()}
    return ProviderPost(
        network=network,
        external_id=external_id,
        author=author,
        text=text,
        created_at=parse_created_at(created_at),
        url=_text(record, "url") or "",
        language=_text(record, "language"),
        in_reply_to_external_id=_id(record, "in_reply_to"),
        conversation_id=_id(record, "conversation_id"),
        referenced=_references(record.get("references")),
        mentions=_mentions(record["mentions"]) if "mentions" in record else _text_mentions(network, text),
        metrics={name: value for name, value in counts.items() if value is not None},
        raw=dict(record),
    )


def record_from_post(post: ProviderPost) -> dict[str, Any]:
    """A post as a contract record that `post_from_contract` reads back into the same
    post: `as_contract()` plus the optional thread keys the post has."""
    record = post.as_contract()
    if post.language:
        record["language"] = post.language
    if post.conversation_id:
        record["conversation_id"] = post.conversation_id
    if post.referenced:
        record["references"] = [
            {"kind": ref.kind.value, "external_id": ref.external_id} for ref in post.referenced
        ]
    if post.mentions:
        record["mentions"] = list(post.mentions)
    return record


def record_from_csv_row(row: Mapping[str, str | None]) -> dict[str, Any]:
    """A CSV row (flat columns) in the nested contract shape."""
    author: dict[str, Any] | None = None
    if row.get("author_external_id"):
        author = {
            "external_id": row["author_external_id"],
            "handle": row.get("author_handle") or "",
            "name": row.get("author_name") or "",
            "followers": row.get("author_followers") or None,
        }
    metrics = {
        column[len(METRIC_PREFIX) :]: value
        for column, value in row.items()
        if column and column.startswith(METRIC_PREFIX) and value not in (None, "")
    }
    fields = (
        "network", "external_id", "text", "created_at", "url", "in_reply_to", "language", "conversation_id",
    )  # fmt: skip
    record: dict[str, Any] = {name: row.get(name) for name in fields}
    record.update(author=author, metrics=metrics)
    return record


def _undecodable(value: str) -> bool:
    """True when `value` holds bytes that were not UTF-8 (kept as surrogates on reading)."""
    return any("\udc80" <= char <= "\udcff" for char in value)


def _jsonl_records(handle: Any) -> Iterator[Record]:
    for line_number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        if _undecodable(line):
            yield line_number, RecordError("not valid UTF-8")
            continue
        try:
            yield line_number, json.loads(line)
        except json.JSONDecodeError as error:
            yield line_number, RecordError(f"not valid JSON: {error.msg} (column {error.colno})")


def _csv_records(handle: Any) -> Iterator[Record]:
    reader = csv.DictReader(handle)
    if not reader.fieldnames or "external_id" not in reader.fieldnames:
        yield 1, RecordError("header row missing or without an external_id column")
        return
    for row in reader:
        if None in row:
            yield reader.line_num, RecordError("more values than header columns")
            continue
        if any(isinstance(value, str) and _undecodable(value) for value in row.values()):
            yield reader.line_num, RecordError("not valid UTF-8")
            continue
        yield reader.line_num, record_from_csv_row(row)


@dataclass
class _Reading:
    """A file being read, `position` records in; `pending` is a record read ahead to
    know whether another page follows."""

    path: Path
    file_format: str
    handle: Any
    records: Iterator[Record]
    position: int
    pending: Record | None = None

    def take(self, limit: int) -> list[Record]:
        taken: list[Record] = []
        if self.pending is not None and limit > 0:
            taken, self.pending = [self.pending], None
        taken.extend(islice(self.records, limit - len(taken)))
        self.position += len(taken)
        return taken

    def has_more(self) -> bool:
        if self.pending is None:
            self.pending = next(self.records, None)
        return self.pending is not None


class FilesProvider(Provider):
    """Reads posts from a file, `limit` records per page.

    `FetchQuery.target` (or the path given at construction) names the file; the
    format comes from `file_format` or the suffix (.jsonl/.ndjson/.json -> JSONL,
    .csv -> CSV). The cursor is the count of records already read; a page that
    continues the previous one goes on reading the open file where it stopped.
    """

    name = "files"

    def __init__(self, path: str | Path | None = None, *, file_format: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.file_format = file_format
        self._reading: _Reading | None = None

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> FilesProvider:
        """Keys: path, file_format (optional)."""
        return cls(credentials.get("path"), file_format=credentials.get("file_format"))

    def _resolve(self, target: str) -> tuple[Path, str]:
        path = Path(target) if target else self.path
        if path is None:
            raise ProviderError("no file to import: give a path", retryable=False)
        file_format = (self.file_format or path.suffix.lstrip(".")).lower()
        if file_format in ("jsonl", "ndjson", "json"):
            return path, "jsonl"
        if file_format == "csv":
            return path, "csv"
        raise ProviderError(
            f"{path.name}: unknown format {file_format!r} (use .jsonl or .csv)", retryable=False
        )

    def _reading_at(self, path: Path, file_format: str, position: int) -> _Reading:
        """The file open at record `position`: the one the previous page stopped at when
        the cursor continues it, so reading a file page by page reads it once."""
        reading = self._reading
        if reading is not None and (reading.path, reading.file_format, reading.position) == (
            path, file_format, position,
        ):  # fmt: skip
            return reading
        self.close()
        # surrogateescape: a bad byte spoils its own record, not the whole import.
        handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
        records = _csv_records(handle) if file_format == "csv" else _jsonl_records(handle)
        deque(islice(records, position), maxlen=0)
        self._reading = _Reading(path, file_format, handle, records, position)
        return self._reading

    def close(self) -> None:
        """Close the file a paged read left open (done by itself at the last page)."""
        if self._reading is not None:
            self._reading.handle.close()
            self._reading = None

    def fetch(self, query: FetchQuery) -> Page:
        """The next `query.limit` records after `query.cursor`, valid ones as posts, others as problems."""
        if query.stream is not Stream.FEED:
            raise ProviderError(f"files can only read a FEED, not {query.stream}", retryable=False)
        path, file_format = self._resolve(query.target)
        skip = int(query.cursor or 0)
        posts: list[ProviderPost] = []
        problems: list[Problem] = []
        try:
            reading = self._reading_at(path, file_format, skip)
            batch = reading.take(query.limit)
            more = reading.has_more()
        except OSError as error:
            self.close()
            raise ProviderError(f"cannot read {path}: {error}", retryable=False) from error
        for line_number, record in batch:
            try:
                if isinstance(record, RecordError):
                    raise record
                posts.append(post_from_contract(record))
            except (RecordError, ValueError) as error:
                problems.append(Problem(location=f"line {line_number}", message=str(error)))
        if not more:
            self.close()
        return Page(
            posts=tuple(posts),
            next_cursor=str(reading.position) if more else None,
            problems=tuple(problems),
        )

    def reply(self, to_external_id: str, text: str) -> ReplyResult:
        """A file cannot carry a reply: always a permanent ProviderError."""
        raise ProviderError("the files provider cannot send replies", retryable=False)

    def verify_credentials(self) -> dict[str, Any]:
        """Check the configured file can be read; return its path and format."""
        path, file_format = self._resolve("")
        if not path.is_file():
            raise ProviderError(f"{path}: no such file", retryable=False)
        return {"id": str(path), "format": file_format}
