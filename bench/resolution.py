"""Identity resolution benchmark: FEBRL 4 linkage, FEBRL 3 deduplication, 100k throughput.

No database: it scores `PersonRecord`s read from ../shared/data/linkage/febrl (beside the
repository) and from a deterministic synthetic set. Figures:

- FEBRL 4 (4a: 5,000 originals, 4b: 5,000 duplicates; only 4a-4b pairs count; 5,000
  true links): precision, recall, F1 of the pairs at or above the auto-merge threshold,
  and of those at or above the review threshold (what reviewers would see plus what
  merges by itself); pair completeness = share of true links that blocking generates
  at all (the ceiling of recall); candidate pairs; seconds. Then F1, pair
  completeness and false pairs merged or queued again with soc_sec_id removed, since
  few CRMs hold a national id (names then weigh most: the term-frequency adjustment of
  names shows there).
- FEBRL 3 (5,000 records of 2,000 people, 6,538 true pairs): pairwise P/R/F1 of the
  auto-merge pairs, and cluster F1 after union-find of those pairs. Cluster F1 is
  B-cubed: per record, precision = |predicted cluster ∩ true cluster| / |predicted
  cluster|, recall = the same over |true cluster|, averaged over records; F1 is their
  harmonic mean. Then F1 and the false pairs merged or queued again without soc_sec_id.
- Throughput: records/s of the whole pipeline (blocking, comparison, u sampling, EM,
  scoring, clustering) on 100,000 synthetic records made by perturbing FEBRL values
  (typos, swapped names, missing fields, transposed dates), seed 7.

Targets: F1 >= 0.995 on FEBRL 4 at the auto threshold (splink and recordlinkage reach
about 0.999); 100k records in minutes on one core.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from customers.resolution.blocking import DEFAULT_KEYS, BlockingKey
from customers.resolution.engine import cluster_labels, score_candidates
from customers.resolution.records import PersonRecord, clean_text, parse_compact_date

from .report import Figure, render_table

FEBRL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "linkage" / "febrl"
AUTO_THRESHOLD = 0.99
REVIEW_THRESHOLD = 0.5
F1_TARGET = 0.995


def febrl_record(row: dict[str, str]) -> PersonRecord:
    """One FEBRL CSV row as a PersonRecord (address_1 is the street, suburb the city)."""
    return PersonRecord(
        id=row["rec_id"],
        given_name=clean_text(row["given_name"]),
        surname=clean_text(row["surname"]),
        date_of_birth=parse_compact_date(row["date_of_birth"]),
        postcode=row["postcode"].strip(),
        city=clean_text(row["suburb"]),
        street=clean_text(row["address_1"]),
        street_number=row["street_number"].strip(),
        locality=clean_text(row["address_2"]),
        state=clean_text(row["state"]),
        national_id=row["soc_sec_id"].strip(),
    )


def load_febrl(path: Path) -> list[PersonRecord]:
    with path.open(newline="") as handle:
        return [febrl_record(row) for row in csv.DictReader(handle, skipinitialspace=True)]


def entity(record_id: str) -> str:
    """`rec-12-dup-0` -> `12`: FEBRL records of one person share it."""
    return record_id.split("-")[1]


def true_pair_count(entities: Sequence[str], groups: Sequence[int] | None = None) -> int:
    """Number of true pairs: same entity (and different groups, when given)."""
    counts: dict[tuple[str, int], int] = {}
    for i, e in enumerate(entities):
        key = (e, groups[i] if groups is not None else 0)
        counts[key] = counts.get(key, 0) + 1
    if groups is None:
        return sum(c * (c - 1) // 2 for c in counts.values())
    by_entity: dict[str, list[int]] = {}
    for (e, _g), c in counts.items():
        by_entity.setdefault(e, []).append(c)
    return sum((sum(cs) ** 2 - sum(c * c for c in cs)) // 2 for cs in by_entity.values())


def prf(tp: int, predicted: int, actual: int) -> tuple[float, float, float]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if tp else 0.0)


def b_cubed_f1(truth: Sequence[str], predicted: np.ndarray) -> float:
    """B-cubed F1 of a predicted clustering (one label per record) against true labels."""
    pairs: dict[tuple[Any, Any], int] = {}
    true_size: dict[str, int] = {}
    predicted_size: dict[int, int] = {}
    for t, p in zip(truth, predicted.tolist(), strict=True):
        pairs[(t, p)] = pairs.get((t, p), 0) + 1
        true_size[t] = true_size.get(t, 0) + 1
        predicted_size[p] = predicted_size.get(p, 0) + 1
    precision = sum(c * c / predicted_size[p] for (_t, p), c in pairs.items()) / len(truth)
    recall = sum(c * c / true_size[t] for (t, _p), c in pairs.items()) / len(truth)
    return 2 * precision * recall / (precision + recall)


def _scored(
    records: list[PersonRecord],
    entities: list[str],
    groups: list[int] | None,
    total_true: int,
    keys: dict[str, BlockingKey] | None = None,
) -> dict:
    started = time.perf_counter()
    scored = score_candidates(records, groups=groups, keys=keys)
    seconds = time.perf_counter() - started
    ent = np.asarray(entities, dtype=object)
    is_true = ent[scored.candidates.left] == ent[scored.candidates.right]
    auto = scored.probabilities >= AUTO_THRESHOLD
    review = scored.probabilities >= REVIEW_THRESHOLD
    return {
        "scored": scored,
        "seconds": seconds,
        "completeness": int(is_true.sum()) / total_true,
        "auto": prf(int((auto & is_true).sum()), int(auto.sum()), total_true),
        "review": prf(int((review & is_true).sum()), int(review.sum()), total_true),
        "review_band": int((review & ~auto).sum()),
        "false_auto": int((auto & ~is_true).sum()),
        "false_review": int((review & ~is_true).sum()),
        "missed_auto": total_true - int((auto & is_true).sum()),
        "oversized": len(scored.candidates.oversized),
    }


def _figures(prefix: str, label: str, result: dict, *, f1_note: str = "") -> list[Figure]:
    (p, r, f1), (_rp, rr, rf1) = result["auto"], result["review"]
    return [
        Figure(f"{prefix}_precision", f"{label} precision (auto)", p * 100, "%"),
        Figure(f"{prefix}_recall", f"{label} recall (auto)", r * 100, "%"),
        Figure(f"{prefix}_f1", f"{label} F1 (auto)", f1 * 100, "%", note=f1_note),
        Figure(f"{prefix}_false_auto", f"{label} false pairs merged (auto)", result["false_auto"], "pairs"),
        Figure(
            f"{prefix}_missed_auto", f"{label} true pairs not merged (auto)", result["missed_auto"], "pairs"
        ),
        Figure(f"{prefix}_review_recall", f"{label} recall (auto + review)", rr * 100, "%"),
        Figure(f"{prefix}_review_f1", f"{label} F1 (auto + review)", rf1 * 100, "%"),
        Figure(f"{prefix}_review_pairs", f"{label} pairs in review band", result["review_band"], "pairs"),
        Figure(
            f"{prefix}_completeness", f"{label} blocking pair completeness", result["completeness"] * 100, "%"
        ),
        Figure(f"{prefix}_candidates", f"{label} candidate pairs", len(result["scored"].candidates), "pairs"),
        Figure(f"{prefix}_oversized", f"{label} oversized blocks skipped", result["oversized"], "blocks"),
        Figure(f"{prefix}_seconds", f"{label} time", result["seconds"], "s"),
    ]


def febrl4() -> list[Figure]:
    a, b = load_febrl(FEBRL / "dataset4a.csv"), load_febrl(FEBRL / "dataset4b.csv")
    records, groups = a + b, [0] * len(a) + [1] * len(b)
    entities = [entity(r.id) for r in records]
    result = _scored(records, entities, groups, true_pair_count(entities, groups))
    note = f"target >= {F1_TARGET:.1%}; splink / recordlinkage reach 99.9% (auto >= {AUTO_THRESHOLD})"
    # Few CRMs hold a national id: the same linkage without soc_sec_id, as comparison and key.
    anonymous = [dataclasses.replace(r, national_id="") for r in records]
    keys = {name: key for name, key in DEFAULT_KEYS.items() if name != "national_id"}
    without = _scored(anonymous, entities, groups, true_pair_count(entities, groups), keys)
    label = "FEBRL 4 without soc_sec_id"
    return [
        *_figures("febrl4", "FEBRL 4 linkage", result, f1_note=note),
        Figure("febrl4_no_id_f1", f"{label}: F1 (auto)", without["auto"][2] * 100, "%"),
        Figure(
            "febrl4_no_id_completeness", f"{label}: pair completeness", without["completeness"] * 100, "%"
        ),
        *_no_id_figures("febrl4_no_id", label, without),
    ]


def _no_id_figures(prefix: str, label: str, result: dict) -> list[Figure]:
    """Without a national id the names carry more of the decision: what reviewers would
    see (false pairs at or above the review threshold) shows how well they are weighed."""
    return [
        Figure(f"{prefix}_false_auto", f"{label}: false pairs merged (auto)", result["false_auto"], "pairs"),
        Figure(f"{prefix}_false_review", f"{label}: false pairs >= review", result["false_review"], "pairs"),
        Figure(f"{prefix}_review_pairs", f"{label}: pairs in review band", result["review_band"], "pairs"),
    ]


def febrl3() -> list[Figure]:
    records = load_febrl(FEBRL / "dataset3.csv")
    entities = [entity(r.id) for r in records]
    result = _scored(records, entities, None, true_pair_count(entities))
    scored = result["scored"]
    auto = scored.probabilities >= AUTO_THRESHOLD
    labels = cluster_labels(len(records), scored.candidates.left[auto], scored.candidates.right[auto])
    anonymous = [dataclasses.replace(r, national_id="") for r in records]
    keys = {name: key for name, key in DEFAULT_KEYS.items() if name != "national_id"}
    without = _scored(anonymous, entities, None, true_pair_count(entities), keys)
    label = "FEBRL 3 without soc_sec_id"
    return [
        *_figures("febrl3", "FEBRL 3 dedup", result),
        Figure(
            "febrl3_cluster_f1", "FEBRL 3 dedup cluster F1 (B-cubed)", b_cubed_f1(entities, labels) * 100, "%"
        ),
        Figure("febrl3_no_id_f1", f"{label}: F1 (auto)", without["auto"][2] * 100, "%"),
        *_no_id_figures("febrl3_no_id", label, without),
    ]


def _typo(rng: random.Random, text: str) -> str:
    """One insertion, deletion, substitution or transposition at a random place."""
    if len(text) < 2:
        return text
    i = rng.randrange(len(text) - 1)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + letter + text[i:]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + letter + text[i + 1 :]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def synthetic(n: int, *, seed: int = 7, duplicate_share: float = 0.3) -> tuple[list[PersonRecord], list[str]]:
    """`n` records (and their entity labels): originals drawn from FEBRL 3's values, and
    about `duplicate_share` of them corrupted copies (typos, swapped names, missing
    fields, transposed dates, changed addresses), some with e-mails, phones and handles."""
    rng = random.Random(seed)
    pool = load_febrl(FEBRL / "dataset3.csv")
    values = {
        f: sorted({getattr(r, f) for r in pool if getattr(r, f)})
        for f in ("given_name", "surname", "street", "locality", "city", "postcode", "state")
    }
    originals = int(n * (1 - duplicate_share))
    records: list[PersonRecord] = []
    for i in range(originals):
        given, surname = rng.choice(values["given_name"]), rng.choice(values["surname"])
        handle = f"{given}{surname}{rng.randrange(100)}" if rng.random() < 0.2 else ""
        records.append(
            PersonRecord(
                id=str(i),
                given_name=given,
                surname=surname,
                date_of_birth=parse_compact_date(
                    f"{rng.randrange(1920, 2005)}{rng.randrange(1, 13):02}{rng.randrange(1, 29):02}"
                ),
                emails=(f"{given}.{surname}{i}@example.org",) if rng.random() < 0.3 else (),
                phones=(f"+6140{i:07}",) if rng.random() < 0.3 else (),
                postcode=rng.choice(values["postcode"]),
                city=rng.choice(values["city"]),
                street=rng.choice(values["street"]),
                street_number=str(rng.randrange(1, 200)),
                locality=rng.choice(values["locality"]),
                state=rng.choice(values["state"]),
                handles=(("x", handle),) if handle else (),
                national_id=str(rng.randrange(1_000_000, 9_999_999)),
            )
        )
    entities = [r.id for r in records]
    for j in range(n - originals):
        source = records[rng.randrange(originals)]
        changes: dict[str, Any] = {"id": f"{source.id}-dup-{j}"}
        for _ in range(rng.randint(1, 3)):
            kind = rng.randrange(6)
            if kind == 0:
                field = rng.choice(("given_name", "surname", "street", "city", "locality"))
                changes[field] = _typo(rng, changes.get(field, getattr(source, field)))
            elif kind == 1:
                changes["given_name"], changes["surname"] = source.surname, source.given_name
            elif kind == 2:
                changes[rng.choice(("given_name", "surname", "postcode", "street", "national_id"))] = ""
            elif kind == 3 and source.date_of_birth and source.date_of_birth.day <= 12:
                dob = source.date_of_birth
                changes["date_of_birth"] = dob.replace(month=dob.day, day=dob.month)
            elif kind == 4:
                changes["national_id"] = _typo(rng, source.national_id)
            else:
                changes.update(postcode=rng.choice(values["postcode"]), street=rng.choice(values["street"]))
        fields = {f: getattr(source, f) for f in PersonRecord.__dataclass_fields__}
        records.append(PersonRecord(**{**fields, **changes}))
        entities.append(source.id)
    return records, entities


def throughput(n: int) -> list[Figure]:
    records, entities = synthetic(n)
    started, cpu_started = time.perf_counter(), time.process_time()
    scored = score_candidates(records)
    auto = scored.probabilities >= AUTO_THRESHOLD
    cluster_labels(len(records), scored.candidates.left[auto], scored.candidates.right[auto])
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    ent = np.asarray(entities, dtype=object)
    is_true = ent[scored.candidates.left] == ent[scored.candidates.right]
    total_true = true_pair_count(entities)
    _p, _r, f1 = prf(int((auto & is_true).sum()), int(auto.sum()), total_true)
    label = f"Synthetic {n:,}"
    return [
        Figure(
            "resolution_records_per_s",
            f"{label}: records/s, whole pipeline",
            n / seconds,
            "records/s",
            note=f"{seconds:,.1f} s for {n:,} records on one core; target: minutes",
        ),
        Figure(
            "resolution_records_per_cpu_s",
            f"{label}: records per CPU second",
            n / cpu_seconds,
            "records/s",
            note="process CPU time: the wall-clock figure suffers when the machine is shared",
        ),
        Figure("resolution_candidates", f"{label}: candidate pairs", len(scored.candidates), "pairs"),
        Figure(
            "resolution_completeness",
            f"{label}: blocking pair completeness",
            int(is_true.sum()) / total_true * 100,
            "%",
        ),
        Figure("resolution_f1", f"{label}: F1 (auto)", f1 * 100, "%"),
        Figure(
            "resolution_oversized",
            f"{label}: oversized blocks skipped",
            len(scored.candidates.oversized),
            "blocks",
        ),
    ]


def run(*, quick: bool = False, only: Sequence[str] = ("febrl4", "febrl3", "throughput")) -> list[Figure]:
    """All resolution figures; `quick` measures throughput on 10,000 records instead of 100,000."""
    figures: list[Figure] = []
    if "febrl4" in only:
        figures += febrl4()
    if "febrl3" in only:
        figures += febrl3()
    if "throughput" in only:
        figures += throughput(10_000 if quick else 100_000)
    return figures


def resolution(ctx: Any) -> list[Figure]:
    """Entry point for bench/__main__.py's registry (takes its Context; needs no database)."""
    return run(quick=getattr(getattr(ctx, "sizes", None), "customers", 100_000) < 100_000)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.resolution")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="febrl4,febrl3,throughput")
    options = parser.parse_args(sys.argv[1:])
    print(render_table(run(quick=options.quick, only=options.only.split(","))))
