"""Identity resolution: blocking, field comparison, Fellegi-Sunter scoring, clustering.

Pure Python and numpy, independent of the database: `PersonRecord.from_customer` is the
only function that reads a Django model. Typical use::

    result = score_candidates(records)           # blocking + comparison + EM + weights
    decision = classify(result.pairs(), auto_threshold=0.99, review_threshold=0.5)
    groups = cluster([r.id for r in records], decision.auto)
"""

from .blocking import CandidatePairs, candidate_pairs
from .engine import (
    Classification,
    ScoredCandidates,
    ScoredPair,
    classify,
    cluster,
    score_candidates,
    score_pairs,
)
from .model import Explanation, FellegiSunter, Term
from .records import PersonRecord

__all__ = [
    "CandidatePairs",
    "Classification",
    "Explanation",
    "FellegiSunter",
    "PersonRecord",
    "ScoredCandidates",
    "ScoredPair",
    "Term",
    "candidate_pairs",
    "classify",
    "cluster",
    "score_candidates",
    "score_pairs",
]
