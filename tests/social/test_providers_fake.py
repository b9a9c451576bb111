"""Fake demo provider: deterministic, varied, well-formed; and the provider registry."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from social.providers.base import NETWORK_FACEBOOK, NETWORK_X, FetchQuery, ProviderPost, Stream
from social.providers.facebook import FacebookProvider
from social.providers.fake import FakeProvider
from social.providers.files import FilesProvider
from social.providers.registry import PROVIDERS, provider_class, provider_for
from social.providers.x import XProvider, snowflake_time


def everything(provider: FakeProvider, stream: Stream = Stream.FEED, target: str = "") -> list[ProviderPost]:
    posts: list[ProviderPost] = []
    cursor = None
    while True:
        page = provider.fetch(FetchQuery(stream=stream, target=target, cursor=cursor, limit=40))
        posts += page.posts
        cursor = page.next_cursor
        if cursor is None:
            return posts


def test_same_seed_same_posts_other_seed_other_posts() -> None:
    first = everything(FakeProvider(seed=11))
    assert first == everything(FakeProvider(seed=11))
    assert [p.text for p in first] != [p.text for p in everything(FakeProvider(seed=12))]


def test_paging_matches_reading_in_one_go() -> None:
    provider = FakeProvider(count=120)
    whole = provider.fetch(FetchQuery(stream=Stream.FEED, limit=1000))
    assert whole.next_cursor is None
    assert everything(provider) == list(whole.posts)


def test_posts_are_a_realistic_mix() -> None:
    posts = everything(FakeProvider(count=300))
    assert len({p.external_id for p in posts}) == 300
    mix = Counter((p.language, p.raw["kind"]) for p in posts)
    for language in ("en", "fr"):
        for kind in ("complaint", "praise", "question"):
            assert mix[(language, kind)] >= 10, (language, kind)
    assert {p.network for p in posts} == {NETWORK_X, NETWORK_FACEBOOK}
    assert any(p.author and (p.author.followers or 0) > 20_000 for p in posts)
    assert all("{" not in p.text for p in posts)
    assert all(p.text[0].isupper() or p.text.startswith("@AcmeSupport ") for p in posts)


def test_posts_are_well_formed() -> None:
    provider = FakeProvider(count=300, start=datetime(2026, 10, 1, tzinfo=UTC), days=30)
    posts = everything(provider)
    by_id = {p.external_id: p for p in posts}
    times = [p.created_at for p in posts]
    assert times == sorted(times)
    assert times[0] >= datetime(2026, 10, 1, tzinfo=UTC)
    assert times[-1] < datetime(2026, 10, 31, tzinfo=UTC)
    for post in posts:
        assert post.created_at.tzinfo is UTC
        if post.network == NETWORK_X:
            assert abs(snowflake_time(post.external_id) - post.created_at) < timedelta(milliseconds=2)
        if post.in_reply_to_external_id:
            parent = by_id[post.in_reply_to_external_id]
            assert parent.network == post.network and parent.created_at < post.created_at
        if "@AcmeSupport" in post.text:
            assert post.mentions == ("AcmeSupport",)
        contract = post.as_contract()
        assert set(contract) == {
            "network", "external_id", "author", "text", "created_at", "url", "in_reply_to", "metrics",
        }  # fmt: skip
    assert sum(1 for p in posts if p.in_reply_to_external_id) >= 10


def test_streams_filter() -> None:
    provider = FakeProvider(count=200)
    mentions = everything(provider, Stream.MENTIONS)
    assert mentions and all("AcmeSupport" in p.mentions for p in mentions)
    found = everything(provider, Stream.SEARCH, "remboursement refund")
    assert found and all("rembours" in p.text or "refund" in p.text for p in found)
    parent = next(p for p in everything(provider) if p.in_reply_to_external_id).in_reply_to_external_id
    assert parent is not None
    replies = everything(provider, Stream.COMMENTS, parent)
    assert replies and all(p.in_reply_to_external_id == parent for p in replies)


def test_reply_and_credentials_are_stable() -> None:
    provider = FakeProvider()
    assert provider.reply("1", "Merci !") == provider.reply("1", "Merci !")
    assert provider.reply("1", "Merci !").external_id != provider.reply("2", "Merci !").external_id
    assert provider.verify_credentials()["username"] == "AcmeSupport"


def test_registry_knows_every_provider() -> None:
    assert {
        "x": XProvider,
        "facebook": FacebookProvider,
        "files": FilesProvider,
        "fake": FakeProvider,
    } == PROVIDERS
    fake = provider_for("fake", {"seed": 3, "count": 5})
    assert isinstance(fake, FakeProvider) and fake.count == 5
    assert isinstance(provider_for("facebook", {"page_id": "1", "access_token": "t"}), FacebookProvider)
    assert isinstance(provider_for("x", {"bearer_token": "b"}), XProvider)
    with pytest.raises(ValueError, match="known: facebook, fake, files, x"):
        provider_class("myspace")


def test_search_reads_an_x_query_without_its_operators() -> None:
    from social.providers.fake import search_terms

    query = '(Acme OR "Kettle 2" OR #acme OR @AcmeSupport) (lang:en OR lang:fr) -is:retweet'
    assert search_terms(query) == ["acme", "kettle 2", "#acme", "@acmesupport"]
