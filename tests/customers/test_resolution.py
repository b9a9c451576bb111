"""The identity-resolution scoring engine: comparisons, blocking, Fellegi-Sunter, clustering."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from customers.inputs import AddressInput, ContactInput, CustomerData, SocialInput
from customers.resolution import (
    PersonRecord,
    candidate_pairs,
    classify,
    cluster,
    score_candidates,
    score_pairs,
)
from customers.resolution.blocking import soundex
from customers.resolution.compare import (
    DEFAULT_COMPARISONS,
    Columns,
    comparison_levels,
    date_levels,
    edit_levels,
    handle_levels,
    jaro_winkler_levels,
    shared_value_counts,
)
from customers.resolution.engine import ScoredPair
from customers.resolution.model import (
    TF_PSEUDO,
    Explanation,
    FellegiSunter,
    fit_em,
    level_frequencies,
    probability,
)
from customers.resolution.records import clean_text, parse_compact_date
from customers.services import customer_upsert
from scrm.actors import Actor

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "febrl_sample.csv"


def febrl_sample() -> list[PersonRecord]:
    """200 records of FEBRL dataset 1: 100 people, an original and a corrupted copy each."""
    with SAMPLE.open(newline="") as handle:
        return [
            PersonRecord(
                id=row["rec_id"],
                given_name=clean_text(row["given_name"]),
                surname=clean_text(row["surname"]),
                date_of_birth=parse_compact_date(row["date_of_birth"]),
                postcode=row["postcode"],
                city=clean_text(row["suburb"]),
                street=clean_text(row["address_1"]),
                street_number=row["street_number"],
                locality=clean_text(row["address_2"]),
                state=row["state"],
                national_id=row["soc_sec_id"],
            )
            for row in csv.DictReader(handle, skipinitialspace=True)
        ]


def person(record_id: str, **fields: object) -> PersonRecord:
    base = PersonRecord(
        id="base",
        given_name="jane",
        surname="doe",
        date_of_birth=date(1980, 3, 14),
        postcode="2600",
        city="canberra",
        street="wattle street",
        street_number="12",
        state="act",
        national_id="1234567",
    )
    return replace(base, id=record_id, **fields)  # type: ignore[arg-type]


# --- comparison levels ------------------------------------------------------------------


def test_jaro_winkler_levels_from_exact_to_missing() -> None:
    levels = jaro_winkler_levels(
        ["martha", "martha", "martha", "martha", ""],
        ["martha", "marhta", "marjha", "xavier", "martha"],
        (0.94, 0.85),
    )
    assert levels.tolist() == [1, 2, 3, 4, 0]


def test_swapped_names_have_their_own_level() -> None:
    a, b = person("a"), person("b", given_name="doe", surname="jane")
    column = [c.field for c in DEFAULT_COMPARISONS].index("given_name")
    levels = comparison_levels([a, b], np.array([0]), np.array([1]))
    assert DEFAULT_COMPARISONS[column].labels[levels[0, column]] == "swapped"


def test_date_levels() -> None:
    left = ["1980-03-14"] * 6
    right = ["1980-03-14", "1980-03-15", "1980-11-02", "1955-01-01", "", "1980-14-03"]
    assert date_levels(left, right).tolist() == [1, 3, 4, 5, 0, 2]


def test_edit_levels_for_postcodes_and_ids() -> None:
    assert edit_levels(["2600", "2600", "2600", ""], ["2600", "2601", "3011", "2600"], 1).tolist() == [
        1,
        2,
        3,
        0,
    ]


def test_handle_meets_name_and_handle() -> None:
    named = person("a")
    social = PersonRecord(id="s", handles=(("x", "janedoe82"),))
    same = PersonRecord(id="t", handles=(("x", "janedoe82"),))
    stranger = PersonRecord(id="u", given_name="oscar", surname="wilde")
    columns = Columns([named, social, same, stranger, person("b")])
    left, right = np.array([0, 1, 1, 0]), np.array([1, 2, 3, 4])
    assert handle_levels(columns, left, right).tolist() == [3, 1, 5, 0]


def test_soundex() -> None:
    assert [soundex("robert"), soundex("rupert"), soundex("ashcraft"), soundex("")] == [
        "r163",
        "r163",
        "a261",
        "",
    ]


# --- blocking ---------------------------------------------------------------------------


def test_blocking_finds_the_pair_differing_by_one_typo() -> None:
    records = [
        person("a"),
        person("b", surname="dow", national_id="", date_of_birth=None),
        person("c", given_name="x"),
    ]
    records[2] = PersonRecord(id="c", given_name="oscar", surname="wilde", postcode="9999")
    found = candidate_pairs(records)
    assert list(zip(found.left.tolist(), found.right.tolist(), strict=True)) == [(0, 1)]


def test_blocking_skips_and_reports_oversized_blocks() -> None:
    records = [PersonRecord(id=str(i), surname=f"s{i}", postcode="2600", street_number="1") for i in range(5)]
    found = candidate_pairs(records, max_block_size=3)
    assert len(found) == 0
    assert [(b.key, b.value, b.size) for b in found.oversized] == [("postcode+street_number", "2600|1", 5)]


def test_blocking_across_groups_only() -> None:
    records = [person("a1"), person("a2"), person("b1")]
    found = candidate_pairs(records, groups=[0, 0, 1])
    assert sorted(zip(found.left.tolist(), found.right.tolist(), strict=True)) == [(0, 2), (1, 2)]


def test_blocking_completeness_on_febrl_sample() -> None:
    records = febrl_sample()
    found = candidate_pairs(records)
    entity = [r.id.split("-")[1] for r in records]
    true_found = sum(
        entity[a] == entity[b] for a, b in zip(found.left.tolist(), found.right.tolist(), strict=True)
    )
    assert true_found >= 99  # of 100 true pairs
    assert len(found) < 2_000  # far from the 19,900 of all pairs


# --- model ------------------------------------------------------------------------------


def test_em_converges_on_a_synthetic_set() -> None:
    rng = np.random.default_rng(1)
    comparisons = DEFAULT_COMPARISONS[:3]
    matches = rng.choice([1, 2], p=[0.9, 0.1], size=(300, 3))
    non_matches = rng.choice([1, 4], p=[0.05, 0.95], size=(2_700, 3))
    levels = np.vstack([matches, non_matches]).astype(np.int8)
    u = level_frequencies(non_matches.astype(np.int8), comparisons)
    model = fit_em(levels, comparisons, u, update_m=True)
    assert model.iterations < 200
    assert model.prior == pytest.approx(0.1, abs=0.02)
    assert model.m[0][1] == pytest.approx(0.9, abs=0.05)
    weights = model.match_weights(levels)
    assert (probability(weights[:300]) > 0.5).mean() > 0.95
    assert (probability(weights[300:]) < 0.5).mean() > 0.95


def test_explanation_weights_sum_to_the_total() -> None:
    records = febrl_sample()
    pairs = score_pairs(records)
    assert pairs
    for pair in pairs[:50]:
        assert sum(t.weight for t in pair.explanation.terms) == pytest.approx(pair.weight)
        assert pair.explanation.total == pytest.approx(pair.weight)
        assert pair.explanation.terms[0].field == "prior"
        assert pair.probability == pytest.approx(float(probability(pair.weight)))


def test_febrl_sample_is_resolved() -> None:
    records = febrl_sample()
    scored = score_candidates(records)
    entity = np.array([r.id.split("-")[1] for r in records], dtype=object)
    is_true = entity[scored.candidates.left] == entity[scored.candidates.right]
    auto = scored.probabilities >= 0.99
    assert (auto & is_true).sum() >= 97
    assert (auto & ~is_true).sum() <= 1
    best = max(scored.pairs(0.99), key=lambda p: p.weight)
    assert {t.field for t in best.explanation.agreeing()} >= {"given_name", "surname", "date_of_birth"}


# --- classification and clustering -------------------------------------------------------


def _pair(left: str, right: str, p: float) -> ScoredPair:
    return ScoredPair(left, right, 0.0, p, Explanation((), 0.0))


def test_classify_by_two_thresholds() -> None:
    pairs = [_pair("a", "b", 0.999), _pair("a", "c", 0.7), _pair("c", "d", 0.1)]
    result = classify(pairs, auto_threshold=0.99, review_threshold=0.5)
    assert [(p.left_id, p.right_id) for p in result.auto] == [("a", "b")]
    assert [(p.left_id, p.right_id) for p in result.review] == [("a", "c")]
    assert [(p.left_id, p.right_id) for p in result.dropped] == [("c", "d")]
    with pytest.raises(ValueError):
        classify(pairs, auto_threshold=0.5, review_threshold=0.9)


def test_union_find_clusters_transitively() -> None:
    pairs = [_pair("a", "b", 1), _pair("c", "b", 1), _pair("d", "e", 1)]
    assert cluster(["a", "b", "c", "d", "e", "f"], pairs) == [{"a", "b", "c"}, {"d", "e"}]


# --- reading a customer -----------------------------------------------------------------


@pytest.mark.django_db
def test_person_record_from_customer() -> None:
    from customers.models import Customer

    customer, _ = customer_upsert(
        data=CustomerData(
            first_name="Zoé",
            last_name="Durand",
            date_of_birth=date(1990, 5, 6),
            emails=[ContactInput("zoe@example.org")],
            phones=[ContactInput("06 12 34 56 78")],
            addresses=[AddressInput(street="1 rue de la Paix", city="Paris", postcode="75002", country="FR")],
            social=[SocialInput(network="x", handle="@ZoeD")],
        ),
        actor=Actor.system("test"),
    )
    loaded = Customer.objects.prefetch_related("contact_points", "social_identities", "external_ids").get(
        pk=customer.pk
    )
    record = PersonRecord.from_customer(loaded)
    assert record == PersonRecord(
        id=str(customer.pk),
        given_name="zoe",
        surname="durand",
        date_of_birth=date(1990, 5, 6),
        emails=("zoe@example.org",),
        phones=("+33612345678",),
        postcode="75002",
        city="paris",
        street="1 rue de la paix",
        handles=(("x", "zoed"),),
    )


def test_a_tiny_set_leans_on_the_priors() -> None:
    """With a handful of customers EM has nothing to learn from: the priors decide, so a
    shared name alone is not a sure match but name and e-mail are."""
    jane = PersonRecord(id="1", given_name="jane", surname="doe", emails=("jane@example.org",))
    namesake = PersonRecord(id="2", given_name="jane", surname="doe")
    same = PersonRecord(id="3", given_name="jane", surname="doe", emails=("jane@example.org",))
    other = PersonRecord(id="4", given_name="john", surname="smith", emails=("john@example.org",))
    scores = {(p.left_id, p.right_id): p.probability for p in score_pairs([jane, namesake, same, other])}
    assert scores[("1", "3")] > 0.999
    assert 0.5 < scores[("1", "2")] < 0.99
    assert ("1", "4") not in scores or scores[("1", "4")] < 0.01


def test_a_fitted_model_round_trips_through_json() -> None:
    records = febrl_sample()
    scored = score_candidates(records)
    saved = json.loads(json.dumps(scored.model.to_dict()))
    model = FellegiSunter.from_dict(saved, DEFAULT_COMPARISONS)
    assert model.match_weights(scored.levels, scored.counts) == pytest.approx(scored.weights)
    with pytest.raises(ValueError):
        FellegiSunter.from_dict(saved, DEFAULT_COMPARISONS[:3])


# --- term-frequency adjustment ----------------------------------------------------------


def _namesakes(common: int, rare: int, others: int) -> list[PersonRecord]:
    """`common` strangers named Smith, `rare` named Quaglieri, `others` with unique
    surnames; nothing else known."""
    names = ["smith"] * common + ["quaglieri"] * rare + [f"name{i}" for i in range(others)]
    return [PersonRecord(id=str(i), surname=name) for i, name in enumerate(names)]


def test_a_shared_rare_surname_weighs_more_than_a_common_one() -> None:
    """Known answer: an exact surname agreement on value v weighs log2(m_exact / tf_v),
    tf_v = (count_v + TF_PSEUDO * u_exact) / (known + TF_PSEUDO)."""
    records = _namesakes(common=400, rare=2, others=1598)
    columns = Columns(records)
    left, right = np.array([0, 400]), np.array([1, 401])  # smith-smith, quaglieri-quaglieri
    levels = comparison_levels(columns, left, right)
    counts = shared_value_counts(columns, left, levels, DEFAULT_COMPARISONS)
    column = [c.field for c in DEFAULT_COMPARISONS].index("surname")
    assert levels[:, column].tolist() == [1, 1]
    assert counts.shared[column].tolist() == [400, 2]
    assert counts.known[column] == 2000
    u = [c.prior("u") for c in DEFAULT_COMPARISONS]
    model = FellegiSunter(DEFAULT_COMPARISONS, [c.prior("m") for c in DEFAULT_COMPARISONS], u, 0.01)
    m_exact, u_exact = model.m[column][1], u[column][1]
    assert u_exact == pytest.approx(0.01)
    expected = {
        n: float(np.log2(m_exact / ((n + TF_PSEUDO * u_exact) / (2000 + TF_PSEUDO)))) for n in (400, 2)
    }
    common, rare = (model.explain(levels[i].tolist(), counts.of_pair(i)).terms[column + 1] for i in (0, 1))
    assert common.weight == pytest.approx(expected[400])  # log2(0.85 / 0.1367) = 2.64 bits
    assert rare.weight == pytest.approx(expected[2])  # log2(0.85 / 0.0040) = 7.73 bits
    unadjusted = float(np.log2(m_exact / u_exact))  # 6.41 bits
    assert common.weight < unadjusted < rare.weight
    assert common.adjustment == pytest.approx(expected[400] - unadjusted) and common.adjustment < 0
    assert rare.adjustment > 0
    assert common.frequency == pytest.approx((400 + 10) / 3000)
    # The match weights use the same adjusted terms, and the explanation still adds up.
    weights = model.match_weights(levels, counts)
    for i in (0, 1):
        explanation = model.explain(levels[i].tolist(), counts.of_pair(i))
        assert explanation.total == pytest.approx(weights[i])
    assert weights[1] - weights[0] == pytest.approx(expected[2] - expected[400])
    # Without counts nothing is adjusted.
    assert model.match_weights(levels)[0] == pytest.approx(model.match_weights(levels)[1])


def test_a_common_surname_lowers_the_score_of_namesakes() -> None:
    """Through the whole pipeline: two strangers sharing a rare first and last name score
    above two sharing common ones, who were equal before the adjustment."""
    records = [
        *(PersonRecord(id=f"c{i}", given_name="olivia", surname="smith") for i in range(40)),
        *(PersonRecord(id=f"r{i}", given_name="zephyrine", surname="quaglieri") for i in range(2)),
        *(PersonRecord(id=f"o{i}", given_name=f"given{i}", surname=f"name{i}") for i in range(3000)),
    ]
    scored = score_candidates(records)
    by_pair = {frozenset((p.left_id, p.right_id)): p for p in scored.pairs()}
    common, rare = by_pair[frozenset(("c0", "c1"))], by_pair[frozenset(("r0", "r1"))]
    assert common.probability < rare.probability
    fields = {t.field: t for t in common.explanation.terms}
    assert fields["surname"].adjustment < 0 and fields["given_name"].adjustment < 0
    assert fields["surname"].frequency == pytest.approx(
        scored.model.value_frequency(1, 40, len(records)), rel=1e-9
    )
