"""Fellegi-Sunter model: m and u per comparison level, EM estimation, explanations.

A pair's match weight is log2(prior odds) plus, for each field, log2(m/u) of its level
(0 for "missing"). u (how often non-matches agree at a level) is estimated from random
pairs; m (how often true matches do) and the match prior by EM on the candidate pairs.

Term-frequency adjustment (as in Splink and fastLink): for the comparisons marked
`term_frequency` (first and last name), an exact agreement on value v weighs
log2(m_exact / tf_v) instead of log2(m_exact / u_exact), where tf_v is the share of the
records resolved that hold v: two strangers agree on v about that often, so a shared
rare surname is strong evidence and a shared common one weak. tf_v is smoothed towards
u_exact, worth TF_PSEUDO records: tf_v = (count_v + TF_PSEUDO * u_exact) / (known +
TF_PSEUDO), `known` being the records with a value in that field; a small set thus
keeps nearly the unadjusted weight. The adjustment, log2(u_exact / tf_v) bits, is shown
beside the term it changes. EM learns the match share on the unadjusted levels; the
adjustment applies when pairs are scored (as Splink does).

Measured and left out (bench/resolution.py, FEBRL without soc_sec_id): adjusting city
and postcode too changed nothing but one more missed FEBRL 3 pair; one adjustment on the
full name (first and last together) hurt FEBRL 3, whose people have several records:
their own copies make their full name look common.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .compare import Comparison, ValueCounts

_FLOOR = 1e-6
TF_PSEUDO = 1000.0
EXACT = 1


@dataclass(frozen=True)
class Term:
    field: str
    level: str
    weight: float
    # Set when the weight was adjusted for how common the agreed value is: the value's
    # (smoothed) share of the records, and the bits the adjustment added (included in
    # `weight`; negative for a common value).
    frequency: float | None = None
    adjustment: float = 0.0


@dataclass(frozen=True)
class Explanation:
    """Why a pair scored what it did: the terms (the prior first, then one per field)
    add up exactly to `total`, the match weight in bits."""

    terms: tuple[Term, ...]
    total: float

    def agreeing(self) -> list[Term]:
        return [t for t in self.terms if t.weight > 0 and t.field != "prior"]


@dataclass
class FellegiSunter:
    """m[f][level] and u[f][level] for each comparison f (index 0, missing, unused) and
    `prior`, the share of candidate pairs that match."""

    comparisons: tuple[Comparison, ...]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    iterations: int = 0

    def weight_tables(self) -> list[np.ndarray]:
        """log2(m/u) per level of every comparison; 0 for "missing"."""
        tables = []
        for m, u in zip(self.m, self.u, strict=True):
            table = np.log2(np.maximum(m, _FLOOR) / np.maximum(u, _FLOOR))
            table[0] = 0.0
            tables.append(table)
        return tables

    @property
    def prior_weight(self) -> float:
        return float(np.log2(self.prior / (1 - self.prior)))

    def value_frequency(self, column: int, count: np.ndarray | int, known: int) -> np.ndarray:
        """tf_v of values held by `count` of the `known` records, smoothed towards u_exact."""
        u_exact = max(float(self.u[column][EXACT]), _FLOOR)
        return (np.asarray(count, dtype=float) + TF_PSEUDO * u_exact) / (known + TF_PSEUDO)

    def frequency_adjustment(self, column: int, count: np.ndarray | int, known: int) -> np.ndarray:
        """Bits added to an exact agreement's weight: log2(u_exact / tf_v) (module docstring)."""
        u_exact = max(float(self.u[column][EXACT]), _FLOOR)
        return np.log2(u_exact / self.value_frequency(column, count, known))

    def match_weights(self, levels: np.ndarray, counts: ValueCounts | None = None) -> np.ndarray:
        """Match weight (bits) of each row of a (pairs, comparisons) level array; with
        `counts`, exact agreements are adjusted for their value's frequency."""
        total = np.full(len(levels), self.prior_weight)
        for column, table in enumerate(self.weight_tables()):
            total += table[levels[:, column]]
        if counts is not None:
            for column, shared in counts.shared.items():
                exact = shared > 0
                total[exact] += self.frequency_adjustment(column, shared[exact], counts.known[column])
        return total

    def to_dict(self) -> dict[str, Any]:
        """The fitted parameters as JSON-ready data (see `from_dict`)."""
        return {
            "prior": self.prior,
            "fields": {
                c.field: {"m": m.tolist(), "u": u.tolist()}
                for c, m, u in zip(self.comparisons, self.m, self.u, strict=True)
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], comparisons: Sequence[Comparison]) -> FellegiSunter:
        """A model saved by `to_dict`, for these comparisons. Raises ValueError when the
        fields or their numbers of levels differ (the comparisons changed since)."""
        fields = data["fields"]
        if list(fields) != [c.field for c in comparisons] or any(
            len(fields[c.field]["m"]) != c.n_levels or len(fields[c.field]["u"]) != c.n_levels
            for c in comparisons
        ):
            raise ValueError("the saved model was fitted for other comparisons")
        return cls(
            tuple(comparisons),
            [np.array(fields[c.field]["m"]) for c in comparisons],
            [np.array(fields[c.field]["u"]) for c in comparisons],
            float(data["prior"]),
        )

    def explain(self, levels: Sequence[int], counts: dict[int, tuple[int, int]] | None = None) -> Explanation:
        """The terms of one pair's match weight: the prior, then each field's level and
        weight. `counts` (column -> (records holding the shared value, records with a
        value); see ValueCounts.of_pair) adjusts exact agreements for frequency."""
        terms = [Term("prior", "match prior", self.prior_weight)]
        for column, (comparison, table, level) in enumerate(
            zip(self.comparisons, self.weight_tables(), levels, strict=True)
        ):
            count, known = (counts or {}).get(column, (0, 0))
            if count > 0:
                bits = float(self.frequency_adjustment(column, count, known))
                frequency = float(self.value_frequency(column, count, known))
                terms.append(
                    Term(
                        comparison.field,
                        comparison.labels[level],
                        float(table[level]) + bits,
                        frequency,
                        bits,
                    )
                )
            else:
                terms.append(Term(comparison.field, comparison.labels[level], float(table[level])))
        return Explanation(tuple(terms), float(sum(t.weight for t in terms)))


def probability(weights: np.ndarray | float) -> np.ndarray:
    """Match weight in bits -> probability, 2^w / (1 + 2^w)."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weights, -60, 60)))


def level_frequencies(
    levels: np.ndarray, comparisons: Sequence[Comparison], pseudo: float = 1000.0
) -> list[np.ndarray]:
    """Share of each non-missing level per comparison, blended with the comparison's u
    prior worth `pseudo` pairs: a few pairs barely move it, 100,000 pairs decide."""
    result = []
    for column, comparison in enumerate(comparisons):
        counts = np.bincount(levels[:, column], minlength=comparison.n_levels).astype(float)
        counts[0] = 0.0
        counts += pseudo * comparison.prior("u")
        result.append(counts / counts.sum())
    return result


def fit_em(
    levels: np.ndarray,
    comparisons: Sequence[Comparison],
    u: list[np.ndarray],
    *,
    prior: float = 0.01,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
    pseudo: float = 10.0,
    min_pairs: int = 100,
    update_u: bool = False,
    update_m: bool = False,
) -> FellegiSunter:
    """Estimate the match share `prior` (and m when `update_m`, u when `update_u`) by EM on
    the candidates' levels, starting from each comparison's m prior.

    m stays at its priors by default: learnt by EM on a base with few true duplicates (a
    customer base already resolved, say), the "match" class drifts to whatever pairs agree
    most often (the same first name) and everything merges. With m fixed, u from random
    pairs and only the share learnt, FEBRL 4 still reaches F1 1.000 and FEBRL 3 0.9997
    (bench/resolution.py), and a second run over resolved data merges nothing.

    Works on the distinct level patterns with their counts, so it is fast whatever the
    number of pairs. `pseudo` adds Dirichlet pseudo-counts (that many pairs, split like
    the m prior; and for the match share, like `prior`) so that small sets cannot drive
    a probability to 0 or 1. Below `min_pairs` candidates the priors are kept as they
    are. Stops when the share moves less than `tolerance` and no m value moves more than
    its square root."""
    m = [c.prior("m") for c in comparisons]
    if len(levels) < min_pairs:
        return FellegiSunter(tuple(comparisons), m, list(u), prior)
    # One int64 per pattern (mixed radix) makes np.unique 1-D, hence fast.
    radix = np.array([c.n_levels for c in comparisons], dtype=np.int64)
    place = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]])
    _codes, first, counts = np.unique(levels.astype(np.int64) @ place, return_index=True, return_counts=True)
    patterns = levels[first]
    counts = counts.astype(float)
    m_prior, share_prior = [pseudo * x for x in m], pseudo * prior
    u = [x.copy() for x in u]
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 - reported after the loop
        log_m = np.full(len(patterns), np.log(prior))
        log_u = np.full(len(patterns), np.log(1 - prior))
        for column in range(len(comparisons)):
            observed = patterns[:, column]
            seen = observed > 0
            log_m[seen] += np.log(np.maximum(m[column][observed[seen]], _FLOOR))
            log_u[seen] += np.log(np.maximum(u[column][observed[seen]], _FLOOR))
        match = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        new_m: list[np.ndarray] = []
        new_u: list[np.ndarray] = []
        for column, comparison in enumerate(comparisons):
            observed = patterns[:, column]
            for weights, store, previous in ((match, new_m, m), (1 - match, new_u, u)):
                # astype: with no pattern at all, bincount answers integers even with weights.
                sums = np.bincount(observed, weights=weights * counts, minlength=comparison.n_levels).astype(
                    float
                )
                sums[0] = 0.0
                sums += m_prior[column] if store is new_m else pseudo * previous[column]
                store.append(sums / sums.sum())
        new_prior = float(((match * counts).sum() + share_prior) / (counts.sum() + pseudo))
        moved = max(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)) if update_m else 0.0
        prior_moved = abs(new_prior - prior)
        if update_m:
            m = new_m
        prior = new_prior
        if update_u:
            u = new_u
        if moved < tolerance**0.5 and prior_moved < tolerance:
            break
    return FellegiSunter(tuple(comparisons), m, u, prior, iterations=iteration)
