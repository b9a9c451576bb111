"""The influence graph at 100,000 identities / 1,000,000 edges, next to networkx.

Data (deterministic, kept between runs for the score benchmark too, see `ensure_graph`):
the seeded customers' social identities (about 55,000 for 100,000 customers) topped up
with unlinked "stranger" identities (external_id `graph-<k>`) to 100,000, and 1,000,000
SocialEdge rows among them loaded with COPY: targets drawn by a Zipf-like popularity,
sources by a Pareto activity, kinds mention 45 % / reply 25 % / repost 15 % / quote 5 % /
follow 10 %, weight geometric (mean ~2), last seen within the year before GRAPH_AS_OF.
(source, target, kind) is unique as in the table; a pair often has several kinds.

Measured (median of 3, one process):
- read + CSR: `influence.graph.graph_read` (binary COPY -> numpy -> recency weights ->
  np.unique -> scipy CSR), next to the raw floor: the same binary COPY into memory, unparsed.
- pagerank_csr on that matrix, next to networkx (nx.DiGraph from the same weighted edges +
  nx.pagerank, same alpha and tolerance, once): the reference floor, with the Spearman
  rank correlation of the two results and their largest difference.
- customer_influence end to end (identities, graph, posts, roll-up, percentiles).
- memory: peak RSS of the process after our path, then after networkx (ru_maxrss only
  grows), and the tracemalloc peak of read + PageRank alone.
"""

from __future__ import annotations

import io
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import numpy as np
from django.db import connection, transaction
from scipy.stats import spearmanr

from customers.models import Network, SocialIdentity
from influence.graph import customer_influence, graph_read, pagerank_csr
from social.models import SocialEdge

from .context import FULL, Context
from .report import Figure, peak_rss_mb
from .seed import copy_rows

SEED = 20261201
GRAPH_AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
STRANGER_PREFIX = "graph-"
KINDS = np.array([str(kind) for kind in SocialEdge.Kind.values])
KIND_SHARES = {"mention": 0.45, "reply": 0.25, "repost": 0.15, "quote": 0.05, "follow": 0.10}
FULL_SIZE, QUICK_SIZE = (100_000, 1_000_000), (10_000, 100_000)
REPEAT = 3


@dataclass(frozen=True)
class SeededGraph:
    identity_ids: np.ndarray  # the graph's identities: seeded customers' first, then strangers
    edges: int
    as_of: datetime


def _seeded_identities(customers: int) -> list[int]:
    return list(
        SocialIdentity.objects.filter(
            customer_id__lte=customers,
            link_method=SocialIdentity.LinkMethod.DECLARED,
            external_id__isnull=False,
        )
        .exclude(external_id__startswith=STRANGER_PREFIX)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _strangers(count: int, rng: np.random.Generator) -> list[int]:
    """Ids of strangers graph-0 .. graph-<count-1>, creating the missing ones."""
    wanted = [f"{STRANGER_PREFIX}{k}" for k in range(count)]
    have = dict(
        SocialIdentity.objects.filter(network=Network.X, external_id__startswith=STRANGER_PREFIX).values_list(
            "external_id", "pk"
        )
    )
    followers = (rng.pareto(1.2, count) * 40).astype(int)
    missing = [
        {
            "network": Network.X,
            "external_id": external_id,
            "handle": external_id.replace("-", "_"),
            "handle_normalized": external_id.replace("-", "_"),
            "followers_count": int(followers[k]),
            "customer_id": None,
        }
        for k, external_id in enumerate(wanted)
        if external_id not in have
    ]
    if missing:
        with transaction.atomic():
            copy_rows(SocialIdentity, missing)
        have = dict(
            SocialIdentity.objects.filter(
                network=Network.X, external_id__startswith=STRANGER_PREFIX
            ).values_list("external_id", "pk")
        )
    return [have[external_id] for external_id in wanted]


def _generate(ids: np.ndarray, count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(ids)
    popularity = 1.0 / np.arange(1, n + 1) ** 0.8
    popularity = rng.permutation(popularity / popularity.sum())
    activity = rng.pareto(1.5, n) + 1.0
    activity /= activity.sum()
    shares = np.array([KIND_SHARES[str(kind)] for kind in KINDS])
    keys = np.zeros(0, dtype=np.int64)
    while len(keys) < count:
        draw = int((count - len(keys)) * 1.3) + 1000
        source = rng.choice(n, draw, p=activity)
        target = rng.choice(n, draw, p=popularity)
        kind = rng.choice(len(KINDS), draw, p=shares)
        fresh = ((source * n + target) * len(KINDS) + kind)[source != target]
        keys = np.unique(np.concatenate([keys, fresh]))
    keys = np.sort(rng.choice(keys, count, replace=False))
    pair, kind = np.divmod(keys, len(KINDS))
    source, target = np.divmod(pair, n)
    weight = rng.geometric(0.5, count)
    last_seen = GRAPH_AS_OF.timestamp() - rng.uniform(0, 365 * 86_400, count)
    first_seen = last_seen - np.where(weight > 1, rng.uniform(0, 180 * 86_400, count), 0.0)
    return {
        "source": ids[source],
        "target": ids[target],
        "kind": kind,
        "weight": weight,
        "first_seen": first_seen,
        "last_seen": last_seen,
    }


def _fingerprint() -> tuple[int, int, int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COALESCE(SUM(weight), 0), COALESCE(SUM(source_id), 0), "
            "COALESCE(SUM(target_id), 0) FROM social_socialedge"
        )
        count, weight, source, target = cursor.fetchone()
    return int(count), int(weight), int(source), int(target)


def _timestamps(seconds: np.ndarray) -> list[str]:
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s", timezone="UTC").tolist()


def _load(rows: dict[str, np.ndarray]) -> None:
    buffer = io.StringIO()
    columns = zip(
        rows["source"].tolist(),
        rows["target"].tolist(),
        KINDS[rows["kind"]].tolist(),
        rows["weight"].tolist(),
        _timestamps(rows["first_seen"]),
        _timestamps(rows["last_seen"]),
        strict=True,
    )
    buffer.writelines(f"{s}\t{t}\t{k}\t{w}\t{f}\t{ls}\n" for s, t, k, w, f, ls in columns)
    buffer.seek(0)
    table = SocialEdge._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} RESTART IDENTITY")
        cursor.copy_expert(
            f"COPY {table} (source_id, target_id, kind, weight, first_seen, last_seen) FROM STDIN", buffer
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def ensure_graph(ctx: Context, identities: int = 100_000, edges: int = 1_000_000) -> SeededGraph:
    """Make the bench database hold exactly this graph (and no other SocialEdge row),
    loading it only when what is there differs. Deterministic for a given seeded base."""
    rng = np.random.default_rng(SEED)
    seeded = _seeded_identities(ctx.sizes.customers)[:identities]
    ids = np.array(seeded + _strangers(identities - len(seeded), rng), dtype=np.int64)
    rows = _generate(ids, edges, rng)
    expected = (
        edges,
        int(rows["weight"].sum()),
        int(rows["source"].sum()),
        int(rows["target"].sum()),
    )
    if _fingerprint() != expected:
        print(f"  loading {edges:,} edges among {identities:,} identities (COPY)...", flush=True)
        started = time.perf_counter()
        _load(rows)
        print(f"  loaded in {time.perf_counter() - started:.1f} s", flush=True)
    else:
        print(f"  graph of {edges:,} edges among {identities:,} identities already loaded", flush=True)
    return SeededGraph(identity_ids=np.sort(ids), edges=edges, as_of=GRAPH_AS_OF)


def _median_seconds(action: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _copy_floor() -> None:
    sql = (
        "COPY (SELECT CAST(source_id AS BIGINT), CAST(target_id AS BIGINT), "
        "CAST(weight AS DOUBLE PRECISION), CAST(EXTRACT(EPOCH FROM last_seen) AS DOUBLE PRECISION) "
        "FROM social_socialedge) TO STDOUT WITH (FORMAT binary)"
    )
    with connection.cursor() as cursor:
        cursor.copy_expert(sql, io.BytesIO())


def graph(ctx: Context) -> list[Figure]:
    identities, edges = FULL_SIZE if ctx.sizes.customers >= FULL.customers else QUICK_SIZE
    seeded = ensure_graph(ctx, identities, edges)
    as_of = seeded.as_of
    size = f"{identities // 1000}k identities / {edges / 1e6:g}M edges"

    print("  floor: binary COPY of the edge columns...", flush=True)
    copy_seconds, _ = _median_seconds(_copy_floor)
    print("  read + CSR build...", flush=True)
    read_seconds, read = _median_seconds(lambda: graph_read(as_of=as_of, identity_ids=seeded.identity_ids))
    print("  pagerank_csr...", flush=True)
    rank_seconds, ours = _median_seconds(lambda: pagerank_csr(read.matrix))
    print("  customer_influence end to end...", flush=True)
    score_seconds, influence = _median_seconds(lambda: customer_influence(as_of=as_of))
    rss_ours = peak_rss_mb()
    tracemalloc.start()
    pagerank_csr(graph_read(as_of=as_of, identity_ids=seeded.identity_ids).matrix)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    print("  networkx: DiGraph build + pagerank (once)...", flush=True)
    coo = read.matrix.tocoo()
    started = time.perf_counter()
    digraph = nx.DiGraph()
    digraph.add_nodes_from(range(read.matrix.shape[0]))
    digraph.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    build_seconds = time.perf_counter() - started
    reference = nx.pagerank(digraph, alpha=0.85, tol=1.0e-10)
    nx_seconds = time.perf_counter() - started
    rss_nx = peak_rss_mb()
    theirs = np.array([reference[i] for i in range(len(ours))])
    rho = float(spearmanr(ours, theirs).statistic)
    gap = float(np.abs(ours - theirs).max())
    del digraph, reference

    return [
        Figure("graph_copy", f"graph floor: binary COPY of {edges:,} edge rows, unparsed", copy_seconds, "s"),
        Figure(
            "graph_read",
            f"graph read + recency + CSR build ({size})",
            read_seconds,
            "s",
            "graph_copy",
            note=f"{read.matrix.nnz:,} distinct (source, target) pairs from {read.edges:,} rows",
        ),
        Figure(
            "graph_nx",
            f"graph floor: networkx DiGraph build + pagerank ({size})",
            nx_seconds,
            "s",
            note=f"build {build_seconds:.1f} s, pagerank {nx_seconds - build_seconds:.1f} s; one run",
        ),
        Figure("graph_pagerank", "pagerank_csr (alpha 0.85, tol 1e-10)", rank_seconds, "s", "graph_nx"),
        Figure(
            "graph_read_pagerank",
            "graph read + CSR + pagerank_csr (from the database)",
            read_seconds + rank_seconds,
            "s",
            "graph_nx",
            note="networkx starts from the edges in memory: it does not read the database",
        ),
        Figure(
            "graph_scores",
            "customer_influence end to end (all components, roll-up, percentiles)",
            score_seconds,
            "s",
            "graph_nx",
            note=f"{len(influence.customer_ids):,} customers scored, {influence.identities:,} identities",
        ),
        Figure(
            "graph_spearman",
            "rank agreement pagerank_csr vs networkx (Spearman rho)",
            rho,
            "",
            note=f"largest absolute difference {gap:.1e}",
        ),
        Figure(
            "graph_traced",
            "tracemalloc peak of read + CSR + pagerank_csr",
            traced,
            "MB",
            note="numpy and scipy allocations included",
        ),
        Figure(
            "graph_rss",
            "peak RSS of the process after our path",
            rss_ours,
            "MB",
            "graph_rss_nx",
            note="includes Django and, on a run that loads the graph, the generation of its rows",
        ),
        Figure("graph_rss_nx", "peak RSS of the process after networkx too", rss_nx, "MB"),
    ]
