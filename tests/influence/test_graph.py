"""The influence graph: PageRank against networkx, the graph read from the database, and
the per-customer score on hand-built data with answers worked out beforehand."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import networkx as nx
import numpy as np
import pytest
from scipy import sparse

from influence.graph import (
    COMPONENTS,
    PageRankNotConverged,
    author_posts,
    customer_influence,
    graph_read,
    pagerank_csr,
    percentile_ranks,
    sentiment_index,
)
from social.models import ListeningRule, PostRuleMatch
from tests.factories import CustomerFactory, PostFactory, SocialEdgeFactory, SocialIdentityFactory

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def as_matrix(graph: nx.DiGraph | nx.Graph) -> sparse.csr_array:
    """The graph's adjacency from its edge list (row = source), both ways when undirected."""
    rows, columns, weights = [], [], []
    for u, v, data in graph.edges(data=True):
        rows.append(u)
        columns.append(v)
        weights.append(data.get("weight", 1.0))
        if not graph.is_directed():
            rows.append(v)
            columns.append(u)
            weights.append(data.get("weight", 1.0))
    n = graph.number_of_nodes()
    return sparse.coo_array((weights, (rows, columns)), shape=(n, n)).tocsr()


# --- PageRank ---------------------------------------------------------------------------------


def test_pagerank_matches_networkx_on_the_karate_club() -> None:
    graph = nx.karate_club_graph()  # weighted, undirected: each edge counts both ways
    ours = pagerank_csr(as_matrix(graph))
    reference = nx.pagerank(graph, alpha=0.85, tol=1.0e-10)
    assert np.abs(ours - np.array([reference[n] for n in range(34)])).max() < 1e-8
    assert ours.sum() == pytest.approx(1.0)


def random_digraph(seed: int) -> nx.DiGraph:
    rng = np.random.default_rng(seed)
    graph = nx.gnp_random_graph(80, 0.06, seed=seed, directed=True)
    for u, v in graph.edges:
        graph[u][v]["weight"] = float(rng.uniform(0.1, 5.0))
    for dangling in (3, 17, 42, 60):
        graph.remove_edges_from(list(graph.out_edges(dangling)))
    return graph


def test_pagerank_matches_networkx_on_a_weighted_digraph_with_dangling_nodes() -> None:
    graph = random_digraph(11)
    assert sum(1 for n in graph if graph.out_degree(n) == 0) >= 4
    ours = pagerank_csr(as_matrix(graph))
    reference = nx.pagerank(graph, alpha=0.85, tol=1.0e-10)
    assert np.abs(ours - np.array([reference[n] for n in range(80)])).max() < 1e-8


def test_pagerank_with_personalization_and_another_alpha_matches_networkx() -> None:
    graph = random_digraph(5)
    personal = np.random.default_rng(1).uniform(0, 1, 80)
    ours = pagerank_csr(as_matrix(graph), alpha=0.7, personalization=personal)
    reference = nx.pagerank(graph, alpha=0.7, personalization=dict(enumerate(personal)), tol=1.0e-10)
    assert np.abs(ours - np.array([reference[n] for n in range(80)])).max() < 1e-8


def test_pagerank_refuses_what_it_cannot_rank() -> None:
    assert pagerank_csr(sparse.csr_array((0, 0))).shape == (0,)
    with pytest.raises(ValueError, match="square"):
        pagerank_csr(sparse.csr_array((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        pagerank_csr(sparse.csr_array(np.array([[0.0, -1.0], [1.0, 0.0]])))
    with pytest.raises(ValueError, match="personalization"):
        pagerank_csr(sparse.csr_array((2, 2)), personalization=[0.0, 0.0])
    with pytest.raises(PageRankNotConverged):
        pagerank_csr(as_matrix(random_digraph(2)), max_iter=2)


def test_percentile_ranks_average_ties_and_keep_missing_values_missing() -> None:
    ranks = percentile_ranks(np.array([3.0, np.nan, 1.0, 3.0, 2.0]))
    assert ranks[[0, 2, 3, 4]].tolist() == [
        pytest.approx(250 / 3),
        0.0,
        pytest.approx(250 / 3),
        pytest.approx(100 / 3),
    ]
    assert math.isnan(ranks[1])
    assert percentile_ranks(np.array([7.0])).tolist() == [50.0]
    assert percentile_ranks(np.array([1.0, 1.0, 1.0])).tolist() == [50.0, 50.0, 50.0]


def test_sentiment_index() -> None:
    assert sentiment_index(6, 2, 10) == 40.0
    assert sentiment_index(0, 3, 4) == -75.0
    assert sentiment_index(0, 0, 0) is None


# --- the graph read from the database ------------------------------------------------------


def weight_between(graph, source, target) -> float:  # type: ignore[no-untyped-def]
    index = {int(n): i for i, n in enumerate(graph.identity_ids)}
    return float(graph.matrix[index[source.pk], index[target.pk]])


@pytest.mark.django_db
def test_recent_interactions_weigh_more_with_the_configured_half_life() -> None:
    a, b, c, d = (SocialIdentityFactory() for _ in range(4))
    SocialEdgeFactory(source=a, target=b, weight=4, first_seen=AS_OF - days(200), last_seen=AS_OF - days(90))
    SocialEdgeFactory(source=a, target=c, weight=3, first_seen=AS_OF - days(10), last_seen=AS_OF - days(180))
    SocialEdgeFactory(source=b, target=c, weight=5, first_seen=AS_OF - days(1), last_seen=AS_OF + days(3))
    SocialEdgeFactory(source=c, target=d, weight=9, first_seen=AS_OF + days(1), last_seen=AS_OF + days(2))

    graph = graph_read(as_of=AS_OF, half_life_days=90, identity_ids=np.array([a.pk, b.pk, c.pk, d.pk]))

    assert weight_between(graph, a, b) == pytest.approx(2.0)  # one half-life old
    assert weight_between(graph, a, c) == pytest.approx(0.75)  # two half-lives
    assert weight_between(graph, b, c) == pytest.approx(5.0)  # seen after as_of: no decay
    assert weight_between(graph, c, d) == 0.0  # did not exist yet
    assert graph.edges == 3
    assert weight_between(graph_read(as_of=AS_OF, half_life_days=30), a, b) == pytest.approx(0.5)


@pytest.mark.django_db
def test_kinds_of_one_pair_add_up_and_isolated_identities_are_nodes(settings) -> None:  # type: ignore[no-untyped-def]
    settings.INFLUENCE_HALF_LIFE_DAYS = 90.0
    a, b, alone = (SocialIdentityFactory() for _ in range(3))
    for kind, weight in (("mention", 2), ("reply", 3), ("follow", 1)):
        SocialEdgeFactory(source=a, target=b, kind=kind, weight=weight, last_seen=AS_OF - days(1))

    graph = graph_read(as_of=AS_OF, identity_ids=np.array([alone.pk, a.pk]))

    assert graph.identity_ids.tolist() == sorted([a.pk, b.pk, alone.pk])
    assert graph.matrix.nnz == 1
    assert weight_between(graph, a, b) == pytest.approx(6 * 0.5 ** (1 / 90))
    assert graph.edges == 3
    with pytest.raises(ValueError, match="half_life"):
        graph_read(as_of=AS_OF, half_life_days=0)
    with pytest.raises(ValueError, match="aware"):
        graph_read(as_of=AS_OF.replace(tzinfo=None))


def rule(name: str, kind: str) -> ListeningRule:
    return ListeningRule.objects.create(name=name, kind=kind)


def post(author, at: datetime, *, rules=(), **fields):  # type: ignore[no-untyped-def]
    created = PostFactory(author=author, created_at=at, **fields)
    for matched in rules:
        PostRuleMatch.objects.create(post=created, rule=matched, kind=matched.kind, created_at=at)
    return created


@pytest.mark.django_db
def test_posts_about_the_brand_are_those_of_brand_rules_or_of_no_rule() -> None:
    brand, competitor = rule("Acme", "brand"), rule("Globex", "competitor")
    author = SocialIdentityFactory()
    at = AS_OF - days(5)
    post(author, at, rules=[brand], sentiment=0.8, sentiment_label="positive", likes=3)
    post(author, at, rules=[brand, competitor], sentiment=-0.6, sentiment_label="negative", reposts=2)
    post(author, at, sentiment=0.1, sentiment_label="positive", replies=1)  # pushed by a partner
    post(author, at, rules=[competitor], sentiment=-0.9, sentiment_label="negative", quotes=4)
    post(author, at, from_brand=True, sentiment=0.9, sentiment_label="positive", likes=100)
    post(author, AS_OF - days(40), rules=[brand], sentiment=0.9, sentiment_label="positive", likes=50)
    post(author, AS_OF + days(1), rules=[brand], sentiment=0.9, sentiment_label="positive")

    found = author_posts(since=AS_OF - days(30), until=AS_OF)

    assert found.author_ids.tolist() == [author.pk]
    assert found.posts.tolist() == [5]
    assert found.engagement.tolist() == [3 + 2 + 1 + 4 + 100]
    assert found.brand_posts.tolist() == [3]
    assert found.sentiment_sum[0] == pytest.approx(0.8 - 0.6 + 0.1)
    assert (found.positive.tolist(), found.negative.tolist()) == ([2], [1])


# --- the customer score ------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_identities_roll_up_to_their_customer() -> None:
    person = CustomerFactory()
    first = SocialIdentityFactory(customer=person, followers_count=10)
    second = SocialIdentityFactory(customer=person, followers_count=100, network="instagram")
    other = SocialIdentityFactory(followers_count=None)
    stranger = SocialIdentityFactory(customer=None, followers_count=5000)
    SocialEdgeFactory(source=stranger, target=first, weight=2, last_seen=AS_OF)
    SocialEdgeFactory(source=stranger, target=other, weight=1, last_seen=AS_OF - days(90))
    SocialEdgeFactory(source=second, target=other, kind="reply", weight=3, last_seen=AS_OF - days(45))
    at = AS_OF - days(2)
    post(first, at, likes=10, sentiment=0.5, sentiment_label="positive")
    post(first, at, likes=20, sentiment=-0.5, sentiment_label="negative")
    post(second, at, sentiment=0.2, sentiment_label="positive")
    post(second, at, from_brand=True, likes=30)

    influence = customer_influence(as_of=AS_OF, half_life_days=90, window_days=30)

    assert influence.customer_ids.tolist() == sorted([person.pk, other.customer_id])
    assert influence.identities == 4 and influence.edges == 3
    i = influence.index_of(person.pk)
    assert i is not None
    reference = nx.DiGraph()
    reference.add_nodes_from([first.pk, second.pk, other.pk, stranger.pk])
    reference.add_weighted_edges_from(
        [(stranger.pk, first.pk, 2.0), (stranger.pk, other.pk, 0.5), (second.pk, other.pk, 3 * 0.5**0.5)]
    )
    ranks = nx.pagerank(reference, tol=1.0e-10)
    assert influence.values["pagerank"][i] == pytest.approx(ranks[first.pk] + ranks[second.pk], abs=1e-10)
    assert influence.values["reach"][i] == pytest.approx(math.log1p(100))
    assert influence.values["engagement"][i] == pytest.approx((10 + 20 + 0 + 30) / 4)
    assert influence.values["participation"][i] == 3
    assert influence.values["sentiment"][i] == pytest.approx(0.2 / 3)
    assert influence.sentiment_positive[i] == 2 and influence.sentiment_negative[i] == 1
    assert influence.sentiment_posts[i] == 3 and influence.posts[i] == 4
    j = influence.index_of(other.customer_id)
    assert j is not None
    assert math.isnan(influence.values["reach"][j]) and math.isnan(influence.values["sentiment"][j])
    assert influence.values["participation"][j] == 0


@pytest.mark.django_db
def test_score_is_the_weighted_mean_of_percentiles_leaving_out_missing_components() -> None:
    a = SocialIdentityFactory(followers_count=1000)
    b = SocialIdentityFactory(followers_count=10)
    c = SocialIdentityFactory(followers_count=None)
    d = SocialIdentityFactory(followers_count=None)
    at = AS_OF - days(1)
    post(a, at, sentiment=0.5, sentiment_label="positive")
    post(b, at, sentiment=-0.5, sentiment_label="negative")
    post(d, at, sentiment=0.0, sentiment_label="neutral")
    weights = {"reach": 2.0, "sentiment": 1.0, "participation": 1.0}

    influence = customer_influence(as_of=AS_OF, weights=weights, window_days=30)

    def score(identity) -> float:  # type: ignore[no-untyped-def]
        return float(influence.score[influence.index_of(identity.customer_id)])

    # reach: A 100, B 0; sentiment: B 0, D 50, A 100; participation: C 0, A = B = D 66.67.
    assert score(a) == pytest.approx((2 * 100 + 100 + 200 / 3) / 4)
    assert score(b) == pytest.approx((0 + 0 + 200 / 3) / 4)
    assert score(d) == pytest.approx((50 + 200 / 3) / 2)
    assert score(c) == 0.0
    parts = influence.components_for(influence.index_of(d.customer_id))
    json.dumps(parts)
    assert set(parts) == set(COMPONENTS)
    assert parts["reach"] == {
        "value": None,
        "percentile": None,
        "weight": 2.0,
        "included": False,
        "share": 0.0,
    }
    assert parts["sentiment"]["value"] == 0.0 and parts["sentiment"]["percentile"] == 50.0
    assert parts["sentiment"]["included"] and parts["sentiment"]["share"] == 0.5
    assert parts["sentiment"]["posts"] == 1
    assert parts["pagerank"]["included"] and parts["pagerank"]["weight"] == 0.0
    assert sum(part["share"] for part in parts.values()) == pytest.approx(1.0)


@pytest.mark.django_db
def test_customers_without_identity_and_merged_customers_get_no_influence() -> None:
    survivor = CustomerFactory()
    tombstone = CustomerFactory(merged_into=survivor)
    SocialIdentityFactory(customer=tombstone)
    nobody = CustomerFactory()
    linked = SocialIdentityFactory()
    SocialIdentityFactory(customer=None)

    influence = customer_influence(as_of=AS_OF)

    assert influence.customer_ids.tolist() == [linked.customer_id]
    assert influence.index_of(nobody.pk) is None
    assert influence.index_of(tombstone.pk) is None and influence.index_of(survivor.pk) is None
    assert influence.identities == 3
    assert influence.score.tolist() == [50.0]  # alone: every component's percentile is 50


@pytest.mark.django_db
def test_an_empty_database_and_bad_arguments() -> None:
    influence = customer_influence(as_of=AS_OF)
    assert len(influence.customer_ids) == len(influence.score) == 0
    assert influence.identities == influence.edges == 0
    with pytest.raises(ValueError, match="unknown"):
        customer_influence(as_of=AS_OF, weights={"karma": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        customer_influence(as_of=AS_OF, weights={"reach": -1.0, "pagerank": 2.0})
    with pytest.raises(ValueError, match="window"):
        customer_influence(as_of=AS_OF, window_days=0)
