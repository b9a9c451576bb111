"""The resolution pipeline: block, compare, fit, score, classify, cluster.

`score_candidates` works on arrays and scales to 100k+ records; `score_pairs` returns
one `ScoredPair` (with its explanation) per candidate pair, for smaller batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .blocking import BlockingKey, CandidatePairs, candidate_pairs
from .compare import (
    DEFAULT_COMPARISONS,
    Columns,
    Comparison,
    ValueCounts,
    comparison_levels,
    shared_value_counts,
)
from .model import Explanation, FellegiSunter, fit_em, level_frequencies, probability
from .records import PersonRecord


@dataclass(frozen=True)
class ScoredPair:
    """A candidate pair with its match weight (bits), probability and explanation."""

    left_id: str
    right_id: str
    weight: float
    probability: float
    explanation: Explanation


@dataclass
class ScoredCandidates:
    """Every candidate pair as arrays: indices into `records`, levels, weights, probabilities,
    and `counts`, the term frequencies of the values pairs agree on (see ValueCounts)."""

    records: Sequence[PersonRecord]
    candidates: CandidatePairs
    levels: np.ndarray
    weights: np.ndarray
    probabilities: np.ndarray
    model: FellegiSunter
    counts: ValueCounts | None = None

    def pairs(self, min_probability: float = 0.0) -> list[ScoredPair]:
        """The candidates scoring at least `min_probability`, as explained ScoredPairs."""
        chosen = np.flatnonzero(self.probabilities >= min_probability)
        return [
            ScoredPair(
                self.records[int(self.candidates.left[i])].id,
                self.records[int(self.candidates.right[i])].id,
                float(self.weights[i]),
                float(self.probabilities[i]),
                self.model.explain(
                    self.levels[i].tolist(), self.counts.of_pair(int(i)) if self.counts else None
                ),
            )
            for i in chosen
        ]


def random_pairs(
    n: int, count: int, *, groups: Sequence[int] | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Up to `count` random pairs of distinct records (of different groups when given);
    every pair, once, when there are no more than `count` of them."""
    if n * (n - 1) // 2 <= count:
        left, right = np.triu_indices(n, k=1)
    else:
        left, right = np.random.default_rng(seed).integers(0, n, size=(2, count * 2))
    keep = left != right
    if groups is not None:
        group_of = np.asarray(groups)
        keep &= group_of[left] != group_of[right]
    return left[keep][:count], right[keep][:count]


def fit_model(
    records: Sequence[PersonRecord] | Columns,
    levels: np.ndarray,
    *,
    groups: Sequence[int] | None = None,
    comparisons: Sequence[Comparison] = DEFAULT_COMPARISONS,
    u_sample: int = 100_000,
    seed: int = 0,
) -> FellegiSunter:
    """u from `u_sample` random pairs (nearly all non-matches), m from the comparisons'
    priors, then the match share by EM on the candidates' `levels` (see fit_em)."""
    columns = records if isinstance(records, Columns) else Columns(records)
    left, right = random_pairs(len(columns.records), u_sample, groups=groups, seed=seed)
    u = level_frequencies(comparison_levels(columns, left, right, comparisons), comparisons)
    return fit_em(levels, comparisons, u)


def score_candidates(
    records: Sequence[PersonRecord],
    *,
    model: FellegiSunter | None = None,
    groups: Sequence[int] | None = None,
    keys: dict[str, BlockingKey] | None = None,
    max_block_size: int = 50,
    u_sample: int = 100_000,
    seed: int = 0,
) -> ScoredCandidates:
    """Block, compare and score. Without a `model`, one is fitted on these records
    (u from random pairs, m by EM). `groups` restricts pairs to different groups (linkage).
    Exact agreements on names weigh by how common the name is among these records (see
    customers.resolution.model)."""
    candidates = candidate_pairs(records, groups=groups, keys=keys, max_block_size=max_block_size)
    comparisons = model.comparisons if model else DEFAULT_COMPARISONS
    columns = Columns(records)
    levels = comparison_levels(columns, candidates.left, candidates.right, comparisons)
    if model is None:
        model = fit_model(
            columns, levels, groups=groups, comparisons=comparisons, u_sample=u_sample, seed=seed
        )
    counts = shared_value_counts(columns, candidates.left, levels, comparisons)
    weights = model.match_weights(levels, counts)
    return ScoredCandidates(records, candidates, levels, weights, probability(weights), model, counts)


def score_pairs(
    records: Sequence[PersonRecord],
    *,
    model: FellegiSunter | None = None,
    groups: Sequence[int] | None = None,
    min_probability: float = 0.0,
) -> list[ScoredPair]:
    """Every candidate pair scoring at least `min_probability`, explained (see score_candidates)."""
    return score_candidates(records, model=model, groups=groups).pairs(min_probability)


@dataclass
class Classification:
    auto: list[ScoredPair]
    review: list[ScoredPair]
    dropped: list[ScoredPair]


def classify(pairs: Iterable[ScoredPair], auto_threshold: float, review_threshold: float) -> Classification:
    """Probability >= auto_threshold: merge automatically; >= review_threshold: queue for
    review; below: drop. Raises ValueError when review_threshold > auto_threshold."""
    if review_threshold > auto_threshold:
        raise ValueError("the review threshold must not exceed the auto-merge threshold")
    result = Classification([], [], [])
    for pair in pairs:
        if pair.probability >= auto_threshold:
            result.auto.append(pair)
        elif pair.probability >= review_threshold:
            result.review.append(pair)
        else:
            result.dropped.append(pair)
    return result


def cluster_labels(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Union-find over indices 0..n-1 joined by the pairs; returns each index's root."""
    parent = list(range(n))

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def cluster(ids: Sequence[str], pairs: Iterable[ScoredPair]) -> list[set[str]]:
    """The groups of ids connected by `pairs` (transitively), each of two ids or more,
    largest first. Ids of pairs not in `ids` raise KeyError."""
    index = {record_id: i for i, record_id in enumerate(ids)}
    joined = [(index[p.left_id], index[p.right_id]) for p in pairs]
    left = np.array([a for a, _ in joined], dtype=np.int64)
    right = np.array([b for _, b in joined], dtype=np.int64)
    groups: dict[int, set[str]] = {}
    for record_id, root in zip(ids, cluster_labels(len(ids), left, right).tolist(), strict=True):
        groups.setdefault(root, set()).add(record_id)
    return sorted((g for g in groups.values() if len(g) > 1), key=len, reverse=True)
