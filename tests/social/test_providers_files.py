"""Files provider: JSONL and CSV import in the api-contract post shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from customers.models import Network
from social.providers.base import NETWORKS, FetchQuery, ProviderError, ReferencedPost, ReferenceKind, Stream
from social.providers.facebook import parse_webhook
from social.providers.fake import FakeProvider
from social.providers.files import FilesProvider, RecordError, post_from_contract, record_from_post

DATA = Path(__file__).resolve().parent.parent / "fixtures"
GOOD = {
    "network": "x",
    "external_id": "1861500000000000001",
    "author": {
        "external_id": "2899107652",
        "handle": "@marie_lfv",
        "name": "Marie Lefèvre",
        "followers": 1342,
    },
    "text": "Ma bouilloire fuit depuis hier.",
    "created_at": "2026-11-22T19:03:41+01:00",
    "url": "https://x.com/marie_lfv/status/1861500000000000001",
    "in_reply_to": None,
    "metrics": {"like_count": 14, "retweet_count": 2},
}


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
        + "\n",
        encoding="utf-8",
    )
    return path


def read_all(provider: FilesProvider, target: str = "", limit: int = 100) -> tuple[list[Any], list[Any], int]:
    posts, problems, pages, cursor = [], [], 0, None
    while True:
        page = provider.fetch(FetchQuery(stream=Stream.FEED, target=target, cursor=cursor, limit=limit))
        posts += page.posts
        problems += page.problems
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return posts, problems, pages


def test_network_names_match_the_customer_model() -> None:
    assert set(Network.values) == NETWORKS


def test_contract_record_round_trips() -> None:
    post = post_from_contract(GOOD)
    assert post.created_at == datetime(2026, 11, 22, 18, 3, 41, tzinfo=UTC)
    assert post.author is not None and post.author.handle == "marie_lfv"
    again = post.as_contract()
    assert again["created_at"] == "2026-11-22T18:03:41Z"
    assert post_from_contract(again) == post.__class__(**{**post.__dict__, "raw": again})


def test_thread_keys_are_optional_and_read_back() -> None:
    reply = post_from_contract(
        {**GOOD, "in_reply_to": "18", "conversation_id": "17", "mentions": ["@AcmeSupport"],
         "references": [{"kind": "quote", "external_id": "16"}], "language": "fr"}
    )  # fmt: skip
    assert (reply.in_reply_to_external_id, reply.conversation_id, reply.language) == ("18", "17", "fr")
    assert reply.mentions == ("AcmeSupport",)
    assert reply.referenced == (ReferencedPost(ReferenceKind.QUOTE, "16"),)
    # The documented shape without them still reads as before.
    plain = post_from_contract(GOOD)
    assert (plain.conversation_id, plain.referenced, plain.mentions) == (None, (), ())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"external_id": "9" * 101}, "external_id"),
        ({"in_reply_to": "9" * 101}, "in_reply_to"),
        ({"conversation_id": ["1"]}, "conversation_id"),
        ({"references": {"kind": "reply"}}, "references"),
        ({"references": [{"kind": "like", "external_id": "1"}]}, "references"),
        ({"references": [{"kind": "reply"}]}, "references.external_id"),
        ({"mentions": [1, 2]}, "mentions"),
    ],
)
def test_wrong_thread_keys_name_their_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as error:
        post_from_contract({**GOOD, **changes})
    assert str(error.value).split(":")[0] == field


def test_record_from_post_keeps_the_thread() -> None:
    fake = [FakeProvider(count=60).post(index) for index in range(60)]
    webhook = parse_webhook((DATA / "facebook" / "feed-comment-add-25.json").read_bytes()).posts
    for post in [*fake, *webhook]:
        record = json.loads(json.dumps(record_from_post(post)))  # as stored in an InboundBatch
        again = post_from_contract(record)
        assert again == post.__class__(**{**post.__dict__, "raw": record}), post.external_id
    assert record_from_post(webhook[0])["conversation_id"] == "1234567890321_901097836652708"
    assert "conversation_id" not in webhook[0].as_contract()  # what record_from_post adds


def test_jsonl_reports_bad_lines_with_their_number_and_carries_on(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "posts.jsonl",
        [
            GOOD,
            "{not json",
            "",
            {**GOOD, "external_id": "2", "created_at": "2026-11-22T10:00:00"},
            {**GOOD, "external_id": "3", "network": "myspace"},
            {**GOOD, "external_id": "4", "metrics": {"like_count": -1}},
            {**GOOD, "external_id": "5", "author": {"handle": "no_id"}},
            ["a", "list"],
            {**GOOD, "external_id": "6", "author": None, "text": "anonymous but fine"},
        ],
    )
    posts, problems, _ = read_all(FilesProvider(path))
    assert [p.external_id for p in posts] == ["1861500000000000001", "6"]
    assert [(p.location, p.message.split(":")[0]) for p in problems] == [
        ("line 2", "not valid JSON"),
        ("line 4", "created_at"),
        ("line 5", "network"),
        ("line 6", "metrics.like_count"),
        ("line 7", "author.external_id"),
        ("line 8", "expected an object, got list"),
    ]
    assert "time zone" in problems[1].message


def test_invalid_utf8_spoils_only_its_line(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    good = json.dumps(GOOD).encode()
    path.write_bytes(good + b"\n" + b'{"text": "caf\xe9"}\n' + good.replace(b'000001"', b'000002"') + b"\n")
    posts, problems, _ = read_all(FilesProvider(path))
    assert len(posts) == 2
    assert [(p.location, p.message) for p in problems] == [("line 2", "not valid UTF-8")]


def test_pages_resume_from_the_cursor(tmp_path: Path) -> None:
    lines = [{**GOOD, "external_id": str(n)} for n in range(1, 8)]
    path = write_jsonl(tmp_path / "posts.ndjson", lines)
    posts, _, pages = read_all(FilesProvider(), target=str(path), limit=3)
    assert [p.external_id for p in posts] == [str(n) for n in range(1, 8)]
    assert pages == 3


def test_a_file_read_page_by_page_is_opened_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [{**GOOD, "external_id": str(n)} for n in range(1, 8)]
    path = write_jsonl(tmp_path / "posts.jsonl", lines)
    opened = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(self) or real_open(self, *a, **k))
    provider = FilesProvider(path)
    posts, _, pages = read_all(provider, limit=2)
    assert ([p.external_id for p in posts], pages, len(opened)) == ([str(n) for n in range(1, 8)], 4, 1)
    # A cursor that does not continue the previous page (a resumed import) opens it again.
    page = provider.fetch(FetchQuery(stream=Stream.FEED, cursor="5", limit=5))
    assert [p.external_id for p in page.posts] == ["6", "7"] and page.next_cursor is None
    assert len(opened) == 2


def test_csv_import_with_metric_columns(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "external_id,network,author_external_id,author_handle,author_name,author_followers,text,"
        "created_at,url,in_reply_to,language,metric_like_count,metric_reply_count\n"
        '10,facebook,77,,Jeanne D.,,"Super service, merci !",2026-11-01T08:00:00Z,,,fr,3,1\n'
        '11,facebook,78,,Paul,,"Multi-line\ncomplaint",2026-11-01T09:00:00Z,,10,en,,\n'
        "12,facebook,79,,Bad,lots,text,2026-11-01T09:00:00Z,,,,,\n"
        "13,facebook,80,,Extra,,text,2026-11-01T09:00:00Z,,,,,,surplus\n",
        encoding="utf-8",
    )
    posts, problems, _ = read_all(FilesProvider(path))
    first, second = posts
    assert first.metrics == {"like_count": 3, "reply_count": 1}
    assert first.language == "fr" and first.author is not None and first.author.name == "Jeanne D."
    assert second.text == "Multi-line\ncomplaint" and second.in_reply_to_external_id == "10"
    assert [(p.location, p.message.split(":")[0]) for p in problems] == [
        ("line 5", "author.followers"),
        ("line 6", "more values than header columns"),
    ]


def test_missing_file_and_unknown_format_are_permanent_errors(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as raised:
        FilesProvider(tmp_path / "nope.jsonl").fetch(FetchQuery(stream=Stream.FEED))
    assert raised.value.retryable is False
    with pytest.raises(ProviderError):
        FilesProvider(tmp_path / "posts.xml").fetch(FetchQuery(stream=Stream.FEED))
    with pytest.raises(ProviderError):
        FilesProvider(tmp_path / "nope.jsonl").verify_credentials()


def test_reply_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as raised:
        FilesProvider(tmp_path / "a.jsonl").reply("1", "hello")
    assert raised.value.retryable is False


def test_mentions_come_from_the_text_unless_listed() -> None:
    from social.providers.files import post_from_contract

    base = {"network": "x", "external_id": "1", "created_at": "2026-11-01T10:00:00Z"}
    post = post_from_contract({**base, "text": "@AcmeSupport cc @jo_b, mail me at a@b.com"})
    assert post.mentions == ("AcmeSupport", "jo_b")
    assert post_from_contract({**base, "text": "@AcmeSupport hi", "mentions": []}).mentions == ()
    facebook = post_from_contract({**base, "network": "facebook", "text": "@Somebody hi"})
    assert facebook.mentions == ()
