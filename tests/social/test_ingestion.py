"""The batch service: idempotent storage, scoring, identities, linking, edges, flags, cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from customers.models import SocialIdentity
from social.ingestion import post_ingest_batch
from social.models import Case, ConnectedAccount, ListeningRule, Post, PostRuleMatch, SocialEdge
from social.providers.base import (
    FetchQuery,
    Problem,
    ProviderAuthor,
    ProviderPost,
    ReferencedPost,
    ReferenceKind,
)
from social.providers.fake import FakeProvider
from tests.factories import CustomerFactory, SocialIdentityFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ALICE = ProviderAuthor(external_id="100", handle="alice_w", name="Alice Walker", followers=120)
BOB = ProviderAuthor(external_id="200", handle="bobby", name="Bob Stone", followers=50_000)
BRAND = ProviderAuthor(external_id="999", handle="AcmeSupport", name="Acme", followers=80_000)


def post(
    external_id: str, text: str, author: ProviderAuthor | None = ALICE, minutes: int = 0, **extra: object
) -> ProviderPost:
    return ProviderPost(
        network="x", external_id=external_id, author=author, text=text,
        created_at=T0 + timedelta(minutes=minutes), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def brand_account(db: None) -> ConnectedAccount:
    return ConnectedAccount.objects.create(
        name="Acme on X", provider="x", network="x", external_id="999", handle="AcmeSupport"
    )


def test_posts_are_stored_once_with_language_and_sentiment() -> None:
    batch = [
        post("1", "I love my new Acme kettle, best purchase this year!"),
        post("2", "Mon grille-pain Acme est tombé en panne, service client nul.", minutes=1),
    ]
    first = post_ingest_batch(posts=batch, source=Post.Source.API)
    assert (first.read, first.new, first.duplicates) == (2, 2, 0)

    again = post_ingest_batch(posts=batch, source=Post.Source.API)
    assert (again.read, again.new, again.duplicates, again.edges, again.cases_opened) == (2, 0, 2, 0, 0)
    assert Post.objects.count() == 2

    happy, angry = Post.objects.order_by("external_id")
    assert (happy.language, happy.sentiment_label) == ("en", "positive")
    assert happy.sentiment_model.startswith("vader-en")
    assert (angry.language, angry.sentiment_label) == ("fr", "negative")
    assert angry.sentiment_model.startswith("vader-fr")
    assert SocialIdentity.objects.filter(network="x", external_id="100").count() == 1


def test_a_post_twice_in_one_batch_is_one_post_and_one_duplicate() -> None:
    summary = post_ingest_batch(posts=[post("1", "hello"), post("1", "hello")], source=Post.Source.FILE)
    assert (summary.read, summary.new, summary.duplicates) == (2, 1, 1)


def test_replayed_batch_refreshes_metrics_only() -> None:
    post_ingest_batch(posts=[post("1", "Acme rocks", metrics={"like_count": 1})], source=Post.Source.POLL)
    post_ingest_batch(
        posts=[post("1", "Acme rocks (edited?)", metrics={"like_count": 7, "retweet_count": 2})],
        source=Post.Source.POLL,
    )
    stored = Post.objects.get()
    assert (stored.text, stored.likes, stored.reposts) == ("Acme rocks", 7, 2)


def test_rejected_posts_are_reported_and_the_rest_stored() -> None:
    summary = post_ingest_batch(
        posts=[post("x" * 101, "too long an id"), post("2", "fine")],
        problems=[Problem(location="line 3", message="created_at: required")],
        source=Post.Source.FILE,
    )
    assert summary.read == 3 and summary.new == 1
    assert [p.location for p in summary.rejected] == [
        "line 3",
        "post 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'",
    ]
    assert "longer than 100" in summary.rejected[1].message


def test_authors_are_upserted_and_refreshed() -> None:
    post_ingest_batch(posts=[post("1", "hi")], source=Post.Source.API)
    renamed = ProviderAuthor(external_id="100", handle="alice_walker", name="Alice W.", followers=300)
    post_ingest_batch(posts=[post("2", "hi again", author=renamed)], source=Post.Source.API)
    identity = SocialIdentity.objects.get(network="x", external_id="100")
    assert (identity.handle_normalized, identity.display_name, identity.followers_count) == (
        "alice_walker", "Alice W.", 300,
    )  # fmt: skip
    assert Post.objects.filter(author=identity).count() == 2


def test_declared_handle_row_is_adopted_and_the_post_linked() -> None:
    customer = CustomerFactory(first_name="Alice", last_name="Walker")
    declared = SocialIdentityFactory(
        customer=customer, network="x", external_id=None, handle="alice_w", handle_normalized="alice_w",
        link_method=SocialIdentity.LinkMethod.DECLARED,
    )  # fmt: skip
    summary = post_ingest_batch(posts=[post("1", "Where is my order?")], source=Post.Source.API)
    declared.refresh_from_db()
    assert declared.external_id == "100"
    assert summary.linked == 1 and summary.identities_new == 0
    assert Post.objects.get().author == declared
    assert SocialIdentity.objects.filter(network="x", handle_normalized="alice_w").count() == 1


def test_new_author_is_linked_on_name_evidence() -> None:
    customer = CustomerFactory(first_name="Bob", last_name="Stone")
    summary = post_ingest_batch(
        posts=[post("1", "nice", author=ProviderAuthor("300", "bobstone", "Bob Stone", 10))],
        source=Post.Source.API,
    )
    assert summary.linked == 1
    assert SocialIdentity.objects.get(external_id="300").customer == customer


def test_edges_for_mentions_replies_and_quotes_are_counted_once() -> None:
    root = post("1", "Kettle day", author=BOB)
    reply = post(
        "2", "@bobby @carol_k agree", minutes=1, in_reply_to_external_id="1", mentions=("bobby", "carol_k"),
        referenced=(ReferencedPost(ReferenceKind.REPLY, "1"),),
    )  # fmt: skip
    quote = post("3", "look at this", minutes=2, referenced=(ReferencedPost(ReferenceKind.QUOTE, "1"),))
    post_ingest_batch(posts=[root], source=Post.Source.POLL)
    post_ingest_batch(posts=[reply, quote], source=Post.Source.POLL)
    post_ingest_batch(posts=[reply, quote], source=Post.Source.POLL)  # replay: no new weight

    alice = SocialIdentity.objects.get(external_id="100")
    bob = SocialIdentity.objects.get(external_id="200")
    carol = SocialIdentity.objects.get(network="x", handle_normalized="carol_k")
    assert carol.external_id is None  # known only as a mention so far
    edges = {(e.target_id, e.kind): e.weight for e in SocialEdge.objects.filter(source=alice)}
    assert edges == {
        (bob.pk, "mention"): 1,
        (carol.pk, "mention"): 1,
        (bob.pk, "reply"): 1,
        (bob.pk, "quote"): 1,
    }
    assert Post.objects.get(external_id="2").conversation == "1"

    # Carol posts: the mention-only row is adopted, not duplicated.
    post_ingest_batch(
        posts=[post("4", "hello", author=ProviderAuthor("400", "carol_k", "Carol K"))],
        source=Post.Source.POLL,
    )
    carol.refresh_from_db()
    assert carol.external_id == "400"


def test_edge_weights_add_up_across_batches() -> None:
    post_ingest_batch(posts=[post("1", "@bobby hi", mentions=("bobby",))], source=Post.Source.POLL)
    post_ingest_batch(
        posts=[post("2", "@bobby hi again", mentions=("bobby",), minutes=5)], source=Post.Source.POLL
    )
    edge = SocialEdge.objects.get(kind="mention")
    assert edge.weight == 2
    assert (edge.first_seen, edge.last_seen) == (T0, T0 + timedelta(minutes=5))


def test_flag_rules_open_a_case_and_the_thread_joins_it(brand_account: ConnectedAccount) -> None:
    complaint = post(
        "1", "@AcmeSupport my kettle stopped working after 3 days. Terrible.", mentions=("AcmeSupport",)
    )
    summary = post_ingest_batch(posts=[complaint], source=Post.Source.POLL)
    assert (summary.flagged, summary.cases_opened) == (1, 1)
    case = Case.objects.get()
    assert case.status == Case.Status.NEW and case.post_count == 1
    assert any(r.startswith("negative:") for r in case.reasons)
    assert "keyword:stopped working" in case.reasons
    assert case.priority > 0 and any(r.startswith("negativity:") for r in case.priority_reasons)

    brand_reply = post("2", "@alice_w sorry! DM us your order number.", author=BRAND, minutes=10,
                       in_reply_to_external_id="1", mentions=("alice_w",))  # fmt: skip
    follow_up = post("3", "@AcmeSupport done, thanks", minutes=20, in_reply_to_external_id="2",
                     mentions=("AcmeSupport",))  # fmt: skip
    summary = post_ingest_batch(posts=[brand_reply, follow_up], source=Post.Source.POLL)
    assert summary.cases_opened == 0 and summary.cases_updated == 1
    case.refresh_from_db()
    assert case.post_count == 3
    assert case.first_response_at == T0 + timedelta(minutes=10)
    stored = Post.objects.get(external_id="2")
    assert stored.from_brand and not stored.flagged and stored.case == case


def test_question_to_the_brand_is_flagged_but_chatter_is_not(brand_account: ConnectedAccount) -> None:
    summary = post_ingest_batch(
        posts=[
            post("1", "@AcmeSupport does the kettle come with a warranty?", mentions=("AcmeSupport",)),
            post("2", "Just saw the Acme ad on TV.", minutes=1),
        ],
        source=Post.Source.API,
    )
    assert summary.flagged == 1
    assert Post.objects.get(external_id="1").flag_reasons == ["question"]


def test_resolved_case_reopens_when_its_author_posts_again_in_the_thread() -> None:
    post_ingest_batch(posts=[post("1", "My order never arrived. Terrible.")], source=Post.Source.API)
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(status=Case.Status.RESOLVED, resolved_at=T0)
    post_ingest_batch(
        posts=[post("2", "still nothing", minutes=60, in_reply_to_external_id="1")], source=Post.Source.API
    )
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN and case.resolved_at is None and case.post_count == 2


def test_rules_match_posts_and_competitor_only_posts_are_not_flagged() -> None:
    brand = ListeningRule.objects.create(
        name="Acme", kind="brand", keywords=["Acme"], hashtags=["acmekettle"]
    )
    rival = ListeningRule.objects.create(
        name="Globex", kind="competitor", keywords=["Globex"], languages=["en"]
    )
    post_ingest_batch(
        posts=[
            post("1", "Acme kettle is fine #AcmeKettle"),
            post("2", "Globex blender broke again, terrible", minutes=1),
            post("3", "Globex est nul", minutes=2),  # French: outside the rule's languages
            post("4", "acmeology is a word", minutes=3),
        ],
        source=Post.Source.API,
    )
    matches = set(PostRuleMatch.objects.values_list("post__external_id", "rule__name"))
    assert matches == {("1", "Acme"), ("2", "Globex")}
    assert brand.pk and rival.pk
    assert not Post.objects.get(external_id="2").flagged  # only a competitor's post


def test_polled_rule_always_counts_its_posts() -> None:
    rule = ListeningRule.objects.create(name="Mentions", kind="brand", stream="mentions")
    post_ingest_batch(posts=[post("1", "hello")], source=Post.Source.POLL, rule=rule)
    assert PostRuleMatch.objects.get().rule == rule


def test_fake_demo_stream_ingests_cleanly() -> None:
    provider = FakeProvider(count=200)
    page = provider.fetch(FetchQuery(limit=200))
    summary = post_ingest_batch(posts=page.posts, source=Post.Source.POLL)
    assert summary.new == 200 and not summary.rejected
    assert 0 < summary.flagged < 200
    assert Case.objects.count() == summary.cases_opened > 0
    assert SocialEdge.objects.filter(kind="reply").exists()
    replay = post_ingest_batch(posts=page.posts, source=Post.Source.POLL)
    assert (replay.new, replay.duplicates, replay.cases_opened) == (0, 200, 0)


def test_facebook_tags_are_account_ids_and_tagging_the_page_addresses_the_brand() -> None:
    ConnectedAccount.objects.create(
        name="Acme page", provider="facebook", network="facebook", external_id="555"
    )
    comment = ProviderPost(
        network="facebook", external_id="555_1_9", text="Can I still return it?", created_at=T0,
        author=ProviderAuthor(external_id="77", name="Jo Doe"), mentions=("555", "88"),
    )  # fmt: skip
    post_ingest_batch(posts=[comment], source=Post.Source.WEBHOOK)
    stored = Post.objects.get()
    assert stored.flag_reasons == ["question"]
    tagged = SocialIdentity.objects.get(network="facebook", external_id="88")
    jo = SocialIdentity.objects.get(network="facebook", external_id="77")
    targets = set(
        SocialEdge.objects.filter(source=jo, kind="mention").values_list("target__external_id", flat=True)
    )
    assert targets == {"555", "88"} and tagged.handle == ""


def test_case_draft_row_carries_every_field_of_the_draft() -> None:
    """The row is built by hand (asdict is slow): a field added to the draft must reach it."""
    from dataclasses import fields

    from social.ingestion import _CaseDraft

    draft = _CaseDraft(
        network="x", conversation="1", author_id=None, opened_at=T0, last_post_at=T0, reasons=["question"]
    )
    row = draft.row()
    assert set(row) == {f.name for f in fields(_CaseDraft)} | {"status"}
    assert row["reasons"] == ["question"] and row["reasons"] is not draft.reasons
    assert row["status"] == Case.Status.NEW


def test_a_failure_of_the_text_analysis_fails_the_batch_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Language and sentiment run on the analysis thread: its error reaches the caller."""
    from social import nlp

    def broken(texts: object) -> list[object]:
        raise RuntimeError("lexicon unreadable")

    monkeypatch.setattr(nlp, "analyse", broken)
    with pytest.raises(RuntimeError, match="lexicon unreadable"):
        post_ingest_batch(posts=[post("a1", "Hello there")], source=Post.Source.API)
    assert not Post.objects.exists()
    assert not SocialIdentity.objects.filter(external_id=ALICE.external_id).exists()
    monkeypatch.undo()
    summary = post_ingest_batch(posts=[post("a1", "Hello there")], source=Post.Source.API)
    assert summary.new == 1
