"""Network influence (docs/metrics.md "Influence", "Social sentiment index"), computed set-wise.

The graph is read straight from the `SocialEdge` rows into numpy arrays and a scipy CSR
matrix (row = source identity, column = target), never into a networkx Graph: at a million
edges that build alone costs seconds and half a GB (docs/performance.md). networkx stays
the reference the tests compare `pagerank_csr` with.

Recency: an edge counts `weight * 0.5 ** (age_days / half_life_days)`, where `weight` is
the number of interactions and `age_days` the days from its `last_seen` to `as_of` (0 if
seen later: the interactions after `as_of` cannot be told apart from the earlier ones).
Edges first seen after `as_of` did not exist yet and are left out. The kinds of one
(source, target) pair (mention, reply, repost, quote, follow) add up into one weight.

Every social identity is a node, with or without edges: an identity nobody addresses keeps
PageRank's floor, which is information too. Post components are read over the window
(as_of - window_days, as_of], grouped by author in one query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone
from scipy import sparse
from scipy.stats import rankdata

from customers.models import Customer, SocialIdentity
from scrm.arrays import fetch_columns
from social.models import ListeningRule, Post, PostRuleMatch, SocialEdge

COMPONENTS = ("pagerank", "reach", "engagement", "participation", "sentiment")
_SECONDS_PER_DAY = 86_400.0


class PageRankNotConverged(RuntimeError):
    """The power iteration did not reach the tolerance within max_iter iterations."""


def pagerank_csr(
    matrix: Any,
    *,
    alpha: float = 0.85,
    personalization: Sequence[float] | np.ndarray | None = None,
    tol: float = 1.0e-10,
    max_iter: int = 200,
) -> np.ndarray:
    """PageRank of a weighted directed graph given as a square sparse matrix (row = source),
    with networkx.pagerank's semantics: out-weights normalised per row, the rank of dangling
    nodes (no out-weight) spread like the teleport (uniform, or by `personalization`),
    power iteration from the uniform vector until the L1 change is below N * tol.
    Returns the ranks in node order (they sum to 1)."""
    adjacency = sparse.csr_array(matrix, dtype=np.float64)
    n, columns = adjacency.shape
    if n != columns:
        raise ValueError(f"the adjacency matrix must be square, not {n} x {columns}")
    if n == 0:
        return np.zeros(0)
    if adjacency.nnz and adjacency.data.min() < 0:
        raise ValueError("edge weights must not be negative")
    if personalization is None:
        teleport = np.full(n, 1.0 / n)
    else:
        teleport = np.asarray(personalization, dtype=np.float64)
        if teleport.shape != (n,) or (teleport < 0).any() or teleport.sum() <= 0:
            raise ValueError("personalization must be n non-negative values with a positive sum")
        teleport = teleport / teleport.sum()
    out_weight = np.asarray(adjacency.sum(axis=1)).ravel()
    dangling = out_weight == 0
    inverse = np.divide(1.0, out_weight, out=np.zeros(n), where=~dangling)
    # x @ (D^-1 A) computed as (D^-1 A)^T x: a CSR product reads each row contiguously.
    transition = (sparse.diags_array(inverse) @ adjacency).T.tocsr()
    rank = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        previous = rank
        rank = alpha * (transition @ rank + rank[dangling].sum() * teleport) + (1 - alpha) * teleport
        if np.abs(rank - previous).sum() < n * tol:
            return rank
    raise PageRankNotConverged(f"PageRank did not converge in {max_iter} iterations")


# --- reading the database into arrays --------------------------------------------------------


def _table(model: type[Any]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _column(model: type[Any], name: str) -> str:
    return str(connection.ops.quote_name(model._meta.get_field(name).column))


def _epoch(column: str) -> str:
    """SQL for the seconds since 1970 of a datetime column, on PostgreSQL or SQLite."""
    if connection.vendor == "sqlite":
        return f"(julianday({column}) - 2440587.5) * {_SECONDS_PER_DAY}"
    return f"EXTRACT(EPOCH FROM {column})"


def _param(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def recency_weights(
    weight: np.ndarray, last_seen: np.ndarray, *, as_of: datetime, half_life_days: float
) -> np.ndarray:
    """weight * 0.5 ** (age_days / half_life_days), `last_seen` in seconds since 1970;
    an age below 0 (seen after as_of) counts as 0."""
    age_days = np.maximum(as_of.timestamp() - last_seen, 0.0) / _SECONDS_PER_DAY
    return np.asarray(weight, dtype=np.float64) * np.power(0.5, age_days / half_life_days)


@dataclass(frozen=True)
class InfluenceGraph:
    identity_ids: np.ndarray  # node i is the identity identity_ids[i]; sorted
    matrix: sparse.csr_array  # recency-weighted, row = source, kinds summed
    edges: int  # SocialEdge rows read


def graph_read(
    *, as_of: datetime, half_life_days: float | None = None, identity_ids: np.ndarray | None = None
) -> InfluenceGraph:
    """The identity graph as of `as_of`, from one read of SocialEdge. `identity_ids` adds
    nodes without edges (every identity, for the scores)."""
    _check_aware(as_of)
    half_life = float(settings.INFLUENCE_HALF_LIFE_DAYS if half_life_days is None else half_life_days)
    if not half_life > 0:
        raise ValueError("half_life_days must be positive")
    edge = {name: _column(SocialEdge, name) for name in ("source", "target", "weight")}
    sql = (
        f"SELECT CAST({edge['source']} AS BIGINT), CAST({edge['target']} AS BIGINT), "  # noqa: S608
        f"CAST({edge['weight']} AS DOUBLE PRECISION), CAST({_epoch('last_seen')} AS DOUBLE PRECISION) "
        f"FROM {_table(SocialEdge)} WHERE first_seen <= %s"
    )
    source, target, weight, last_seen = fetch_columns(sql, [_param(as_of)], "iiff")
    extra = np.zeros(0, dtype=np.int64) if identity_ids is None else np.asarray(identity_ids, np.int64)
    nodes, index = np.unique(np.concatenate([source, target, extra]), return_inverse=True)
    count = len(source)
    matrix = sparse.coo_array(
        (
            recency_weights(weight, last_seen, as_of=as_of, half_life_days=half_life),
            (index[:count], index[count : 2 * count]),
        ),
        shape=(len(nodes), len(nodes)),
    ).tocsr()
    matrix.sum_duplicates()
    return InfluenceGraph(identity_ids=nodes, matrix=matrix, edges=count)


@dataclass(frozen=True)
class AuthorPosts:
    """Per author (identity) over a window: all posts, the engagement they received, and
    their posts about the brand with the sum of their VADER compounds and their labels."""

    author_ids: np.ndarray
    posts: np.ndarray
    engagement: np.ndarray  # likes + reposts + replies + quotes, summed
    brand_posts: np.ndarray
    sentiment_sum: np.ndarray
    positive: np.ndarray
    negative: np.ndarray


def author_posts(*, since: datetime, until: datetime) -> AuthorPosts:
    """Posts with since < created_at <= until, grouped by author in one query. "About the
    brand" = not written by the brand, and matched a brand rule or no rule at all (partner
    pushes and file imports are the brand's own listening); competitor-only posts are not."""
    post, match = _table(Post), _table(PostRuleMatch)
    counters = " + ".join(f"CAST(p.{name} AS BIGINT)" for name in ("likes", "replies", "reposts", "quotes"))
    sql = f"""
        SELECT CAST(author_id AS BIGINT), CAST(COUNT(*) AS BIGINT),
               CAST(SUM(engagement) AS DOUBLE PRECISION), CAST(SUM(about) AS BIGINT),
               CAST(SUM(about * sentiment) AS DOUBLE PRECISION),
               CAST(SUM(CASE WHEN about = 1 AND sentiment_label = %s THEN 1 ELSE 0 END) AS BIGINT),
               CAST(SUM(CASE WHEN about = 1 AND sentiment_label = %s THEN 1 ELSE 0 END) AS BIGINT)
        FROM (
            SELECT p.author_id, {counters} AS engagement, p.sentiment, p.sentiment_label,
                   CASE WHEN p.from_brand = %s AND (m.post_id IS NULL OR m.brand = 1)
                        THEN 1 ELSE 0 END AS about
            FROM {post} p
            LEFT JOIN (
                SELECT post_id, MAX(CASE WHEN kind = %s THEN 1 ELSE 0 END) AS brand
                FROM {match} WHERE created_at > %s AND created_at <= %s GROUP BY post_id
            ) m ON m.post_id = p.id
            WHERE p.author_id IS NOT NULL AND p.created_at > %s AND p.created_at <= %s
        ) windowed
        GROUP BY author_id
    """  # noqa: S608 - table names from _meta, every value bound
    window = [_param(since), _param(until)]
    params = [Post.Label.POSITIVE, Post.Label.NEGATIVE, False, ListeningRule.Kind.BRAND, *window, *window]
    columns = fetch_columns(sql, params, "iififii")
    order = np.argsort(columns[0], kind="stable")
    return AuthorPosts(*(column[order] for column in columns))


# --- the score -------------------------------------------------------------------------------


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Percentile rank 0-100 of each value among the non-NaN ones: 100 (rank - 1) / (n - 1)
    with ties given their average rank, so the lowest is 0, the highest 100 and a tie of
    everyone 50 (also the value of a single one). NaN stays NaN."""
    result = np.full(len(values), np.nan)
    known = ~np.isnan(values)
    n = int(known.sum())
    if n == 1:
        result[known] = 50.0
    elif n > 1:
        result[known] = 100.0 * (rankdata(values[known], method="average") - 1) / (n - 1)
    return result


def sentiment_index(positive: int, negative: int, total: int) -> float | None:
    """100 (positive - negative) / all posts, from -100 to 100; None without posts."""
    if total <= 0:
        return None
    return 100.0 * (positive - negative) / total


@dataclass(frozen=True)
class CustomerInfluence:
    """Influence of every live customer with at least one social identity, in the order of
    `customer_ids` (sorted). `values` and `percentiles` hold one array per component (NaN
    where the customer has no data for it); `score` is 0-100."""

    as_of: datetime
    weights: dict[str, float]
    half_life_days: float
    window_days: int
    customer_ids: np.ndarray
    score: np.ndarray
    values: dict[str, np.ndarray]
    percentiles: dict[str, np.ndarray]
    posts: np.ndarray  # all posts in the window
    sentiment_positive: np.ndarray
    sentiment_negative: np.ndarray
    sentiment_posts: np.ndarray  # posts about the brand in the window
    identities: int  # nodes of the graph (every social identity)
    edges: int  # SocialEdge rows in the graph
    _positions: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    def index_of(self, customer_id: int) -> int | None:
        """Position of the customer in the arrays; None for a customer without identity."""
        if not self._positions:
            self._positions.update({int(c): i for i, c in enumerate(self.customer_ids)})
        return self._positions.get(int(customer_id))

    def components_for(self, i: int) -> dict[str, dict[str, Any]]:
        """What `score[i]` is made of, in JSON types: per component its raw value, its
        percentile among customers, its configured weight, whether it was included (no
        data: left out, the other weights renormalised) and its share of the score."""
        present = {name: not np.isnan(self.percentiles[name][i]) for name in COMPONENTS}
        total = sum(self.weights[name] for name in COMPONENTS if present[name])
        components: dict[str, dict[str, Any]] = {}
        for name in COMPONENTS:
            value, percentile = _json_number(self.values[name][i]), _json_number(self.percentiles[name][i])
            weight = self.weights[name]
            components[name] = {
                "value": value,
                "percentile": percentile,
                "weight": weight,
                "included": present[name],
                "share": (weight / total) if present[name] and total > 0 else 0.0,
            }
        components["engagement"]["posts"] = int(self.posts[i])
        components["sentiment"]["posts"] = int(self.sentiment_posts[i])
        return components


def _json_number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _check_aware(as_of: datetime) -> None:
    if timezone.is_naive(as_of):
        raise ValueError("as_of must be timezone-aware")


def _weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    chosen = dict(settings.INFLUENCE_WEIGHTS if weights is None else weights)
    unknown = sorted(set(chosen) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"unknown influence components: {', '.join(unknown)}")
    result = {name: float(chosen.get(name, 0.0)) for name in COMPONENTS}
    if any(w < 0 for w in result.values()) or sum(result.values()) <= 0:
        raise ValueError("influence weights must be non-negative with a positive sum")
    return result


def _identities() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(identity ids, live customer id or 0, followers or NaN), sorted by identity id."""
    customer = _table(Customer)
    sql = (
        "SELECT CAST(i.id AS BIGINT), CAST(COALESCE(c.id, 0) AS BIGINT), "  # noqa: S608
        "CAST(COALESCE(i.followers_count, -1) AS DOUBLE PRECISION) "
        f"FROM {_table(SocialIdentity)} i LEFT JOIN {customer} c "
        "ON c.id = i.customer_id AND c.merged_into_id IS NULL ORDER BY i.id"
    )
    ids, customers, followers = fetch_columns(sql, [], "iif")
    return ids, customers, np.where(followers < 0, np.nan, followers)


def customer_influence(
    *,
    as_of: datetime,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
    window_days: int | None = None,
) -> CustomerInfluence:
    """Influence score and its components for every live customer with an identity.

    Per identity: PageRank (alpha 0.85) on the recency-weighted graph, reach =
    log1p(followers), and over the window: engagement received per post, participation
    (posts about the brand) and mean sentiment of those posts. Per customer: PageRank
    summed, reach the max, engagement = total engagement / total posts, participation
    summed, sentiment weighted by posts. Score = weighted mean of the components' percentile
    ranks among these customers, a component without data left out (weights renormalised)."""
    _check_aware(as_of)
    chosen = _weights(weights)
    half_life = float(settings.INFLUENCE_HALF_LIFE_DAYS if half_life_days is None else half_life_days)
    window = int(settings.SCORES_SENTIMENT_WINDOW_DAYS if window_days is None else window_days)
    if window <= 0:
        raise ValueError("window_days must be positive")

    identity_ids, owners, followers = _identities()
    graph = graph_read(as_of=as_of, half_life_days=half_life, identity_ids=identity_ids)
    ranks = pagerank_csr(graph.matrix, alpha=0.85)[np.searchsorted(graph.identity_ids, identity_ids)]
    posts = author_posts(since=as_of - timedelta(days=window), until=as_of)

    linked = owners > 0
    customer_ids, of_customer = np.unique(owners[linked], return_inverse=True)
    k = len(customer_ids)

    def total(per_identity: np.ndarray) -> np.ndarray:
        return np.bincount(of_customer, weights=per_identity[linked], minlength=k)

    per_identity = {
        name: np.zeros(len(identity_ids))
        for name in ("posts", "engagement", "brand_posts", "sentiment_sum", "positive", "negative")
    }
    found = np.isin(posts.author_ids, identity_ids)
    at = np.searchsorted(identity_ids, posts.author_ids[found])
    for name in per_identity:
        per_identity[name][at] = getattr(posts, name)[found]
    sums = {name: total(values) for name, values in per_identity.items()}

    reach = np.full(k, -np.inf)
    known = ~np.isnan(followers[linked])
    np.maximum.at(reach, of_customer[known], np.log1p(followers[linked][known]))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {
            "pagerank": total(ranks),
            "reach": np.where(np.isinf(reach), np.nan, reach),
            "engagement": np.where(sums["posts"] > 0, sums["engagement"] / sums["posts"], np.nan),
            "participation": sums["brand_posts"],
            "sentiment": np.where(
                sums["brand_posts"] > 0, sums["sentiment_sum"] / sums["brand_posts"], np.nan
            ),
        }
    percentiles = {name: percentile_ranks(values[name]) for name in COMPONENTS}
    table = np.column_stack([percentiles[name] for name in COMPONENTS]) if k else np.zeros((0, 5))
    weight_row = np.array([chosen[name] for name in COMPONENTS])
    present = ~np.isnan(table)
    weight_sum = (present * weight_row).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(weight_sum > 0, (np.nan_to_num(table) * weight_row).sum(axis=1) / weight_sum, np.nan)
    return CustomerInfluence(
        as_of=as_of,
        weights=chosen,
        half_life_days=half_life,
        window_days=window,
        customer_ids=customer_ids,
        score=score,
        values=values,
        percentiles=percentiles,
        posts=sums["posts"].astype(np.int64),
        sentiment_positive=sums["positive"].astype(np.int64),
        sentiment_negative=sums["negative"].astype(np.int64),
        sentiment_posts=sums["brand_posts"].astype(np.int64),
        identities=len(graph.identity_ids),
        edges=graph.edges,
    )
