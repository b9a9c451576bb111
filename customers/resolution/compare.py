"""Field comparisons: each turns aligned pairs of records into comparison levels.

Level 0 always means "missing on one side" (it weighs nothing); levels 1..k go from the
strongest agreement to plain disagreement, and `labels[level]` names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from .records import PersonRecord

MISSING = "missing"
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
TEXT_FIELDS = (
    "given_name",
    "surname",
    "postcode",
    "city",
    "street",
    "street_number",
    "locality",
    "state",
    "national_id",
)


class Field:
    """A column of strings as int codes into its distinct values; code 0 is ""."""

    def __init__(self, values: Sequence[str]) -> None:
        index = {"": 0}
        self.codes: np.ndarray = np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)
        self.values: np.ndarray = np.empty(len(index), dtype=object)
        self.values[:] = list(index)


def pair_scores(
    scorer: Callable[..., float], a: Field, left: np.ndarray, b: Field, right: np.ndarray, dtype: type
) -> np.ndarray:
    """scorer(a[left[i]], b[right[i]]) for every i, computed once per distinct pair of values."""
    if not len(left):
        return np.empty(0, dtype=dtype)
    width = len(b.values)
    distinct, inverse = np.unique(a.codes[left] * width + b.codes[right], return_inverse=True)
    scores = cpdist(
        a.values[distinct // width].tolist(), b.values[distinct % width].tolist(), scorer=scorer, dtype=dtype
    )
    return np.asarray(scores)[inverse]


def _name_forms(person: PersonRecord) -> tuple[str, ...]:
    """`jane doe` as a handle would write it: janedoe, doejane, jdoe, janed, jane, doe."""
    given, surname = _NOT_ALNUM.sub("", person.given_name), _NOT_ALNUM.sub("", person.surname)
    if not (given and surname):
        return (given or surname,) * 6
    return (given + surname, surname + given, given[:1] + surname, given + surname[:1], given, surname)


class Columns:
    """Values of every record extracted once, as arrays that comparisons index by pair."""

    def __init__(self, records: Sequence[PersonRecord]) -> None:
        self.records = records
        self.fields = {f: Field([getattr(r, f) for r in records]) for f in TEXT_FIELDS}
        self.dates = np.array(
            [r.date_of_birth.isoformat() if r.date_of_birth else "" for r in records], dtype="U10"
        )
        self.emails = np.array([bool(r.emails) for r in records])
        self.phones = np.array([bool(r.phones) for r in records])
        self.handles = np.array([bool(r.handles) for r in records])
        # The first handle as bare letters, and the ways each name is written as a handle.
        self.handle_letters = Field(
            [_NOT_ALNUM.sub("", r.handles[0][1]).rstrip("0123456789") if r.handles else "" for r in records]
        )
        self.name_forms = [Field(forms) for forms in zip(*map(_name_forms, records), strict=True)]
        self._value_counts: dict[str, np.ndarray] = {}

    def value_counts(self, field: str) -> np.ndarray:
        """How many records hold each value (by code) of a text field; 0 for "" (one pass)."""
        if field not in self._value_counts:
            counts = np.bincount(self.fields[field].codes, minlength=len(self.fields[field].values))
            counts[0] = 0
            self._value_counts[field] = counts
        return self._value_counts[field]


@dataclass(frozen=True)
class ValueCounts:
    """For each comparison adjusted for term frequency (by column index): `shared[column][i]`,
    how many of the records resolved hold the value pair i agrees on exactly (0 when it
    does not agree exactly), and `known[column]`, how many hold any value in that field."""

    shared: dict[int, np.ndarray]
    known: dict[int, int]

    def of_pair(self, i: int) -> dict[int, tuple[int, int]]:
        """Pair i's (count, known) per adjusted column, for an explanation."""
        return {column: (int(counts[i]), self.known[column]) for column, counts in self.shared.items()}


Compare = Callable[[Columns, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Comparison:
    """One field's comparison: its name, the label of every level, and the function that
    maps (columns, left indices, right indices) to an int8 array of levels."""

    field: str
    labels: tuple[str, ...]
    compare: Compare
    # Prior beliefs, per level after "missing" (the last, disagreement, takes the rest):
    # how often true matches (m) and non-matches (u) fall there. The model starts from
    # them and the data overrides them as it accumulates.
    m_prior: tuple[float, ...] = ()
    u_prior: tuple[float, ...] = ()
    # Adjust the weight of "exact" (level 1) for how common the shared value is among the
    # records resolved (see FellegiSunter.frequency_adjustments); `field` names the column.
    term_frequency: bool = False

    @property
    def n_levels(self) -> int:
        return len(self.labels)

    def prior(self, which: str) -> np.ndarray:
        """The m or u prior as a distribution over levels (0 for "missing")."""
        given = self.m_prior if which == "m" else self.u_prior
        if not given:  # mostly exact for matches, rarely anything but "different" otherwise
            k = self.n_levels - 2
            given = (0.85, *(0.1 / k,) * (k - 1)) if which == "m" else (0.01,) * k
        return np.array([0.0, *given, 1.0 - sum(given)])


def _jaro_winkler(
    field: Field, left: np.ndarray, right: np.ndarray, bands: Sequence[float], swapped: Field | None = None
) -> np.ndarray:
    a, b = field.codes[left], field.codes[right]
    similarity = pair_scores(JaroWinkler.normalized_similarity, field, left, field, right, np.float32)
    levels = np.full(len(a), len(bands) + 2 + (swapped is not None), dtype=np.int8)
    if swapped is not None:
        levels[(field.values[a] == swapped.values[swapped.codes[right]]) & (a != 0)] = len(bands) + 2
    for i in range(len(bands) - 1, -1, -1):
        levels[similarity >= bands[i]] = i + 2
    levels[a == b] = 1
    levels[(a == 0) | (b == 0)] = 0
    return levels


def _edit_distance(field: Field, left: np.ndarray, right: np.ndarray, max_edits: int) -> np.ndarray:
    a, b = field.codes[left], field.codes[right]
    edits = pair_scores(Levenshtein.distance, field, left, field, right, np.int32)
    levels = np.where(edits <= max_edits, edits + 1, max_edits + 2).astype(np.int8)
    levels[(a == 0) | (b == 0)] = 0
    return levels


def _side_by_side(left: Sequence[str], right: Sequence[str]) -> tuple[Field, np.ndarray, np.ndarray]:
    n = len(left)
    return Field([*left, *right]), np.arange(n), np.arange(n, 2 * n)


def jaro_winkler_levels(
    left: Sequence[str], right: Sequence[str], bands: Sequence[float], *, swapped: Sequence[str] | None = None
) -> np.ndarray:
    """exact=1, Jaro-Winkler >= bands[0] -> 2, >= bands[1] -> 3, ..., else (len(bands)+2);
    0 when either side is empty.

    With `swapped` (the right record's other name field), an exact match with it scores
    the level after the bands, "swapped", and disagreement moves one level down."""
    field, a, b = _side_by_side(left, right)
    other = Field([*left, *swapped]) if swapped is not None else None
    return _jaro_winkler(field, a, b, bands, other)


def edit_levels(left: Sequence[str], right: Sequence[str], max_edits: int) -> np.ndarray:
    """exact=1, 1 edit -> 2, ..., `max_edits` edits -> max_edits+1, else max_edits+2;
    0 when either side is empty."""
    field, a, b = _side_by_side(left, right)
    return _edit_distance(field, a, b, max_edits)


def date_levels(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """ISO dates: exact=1, day and month transposed=2, one digit typo=3, same year=4,
    else 5; 0 when either is unknown."""
    # One code point per character, one row per date: digit-wise comparisons in numpy.
    a = np.asarray(left, dtype="U10").view(np.uint32).reshape(-1, 10)
    b = np.asarray(right, dtype="U10").view(np.uint32).reshape(-1, 10)
    differing = (a != b).sum(axis=1)
    same_year = (a[:, :4] == b[:, :4]).all(axis=1)
    transposed = same_year & (a[:, 5:7] == b[:, 8:10]).all(axis=1) & (a[:, 8:10] == b[:, 5:7]).all(axis=1)
    levels = np.full(len(a), 5, dtype=np.int8)
    levels[same_year] = 4
    levels[differing == 1] = 3
    levels[transposed & (differing > 0)] = 2
    levels[differing == 0] = 1
    levels[(a[:, 0] == 0) | (b[:, 0] == 0)] = 0
    return levels


def _overlap(attribute: str, near: Callable[[str], str]) -> Compare:
    """any value shared=1, any `near(value)` shared=2, else 3; 0 when a side has none."""

    def compare(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        has = getattr(columns, attribute)
        levels = np.zeros(len(left), dtype=np.int8)
        for i in np.flatnonzero(has[left] & has[right]).tolist():
            a = getattr(columns.records[left[i]], attribute)
            b = getattr(columns.records[right[i]], attribute)
            if set(a) & set(b):
                levels[i] = 1
            else:
                levels[i] = 2 if {near(v) for v in a} & {near(v) for v in b} else 3
        return levels

    return compare


def _handle_to_name(columns: Columns, handle_side: np.ndarray, name_side: np.ndarray) -> np.ndarray:
    """Best Jaro-Winkler of a record's first handle against the other's name forms; -1
    when either is missing, and when the handle's owner has a name of its own: the names
    are compared already, and a handle that spells its owner's name would count the same
    evidence twice (two namesakes merged on "name-like" handles in the demo data)."""
    handles = columns.handle_letters
    best = np.full(len(handle_side), -1.0)
    for forms in columns.name_forms:
        scores = pair_scores(
            JaroWinkler.normalized_similarity, handles, handle_side, forms, name_side, np.float32
        )
        best = np.maximum(best, scores)
    names = columns.name_forms[0].codes
    best[(handles.codes[handle_side] == 0) | (names[name_side] == 0) | (names[handle_side] != 0)] = -1.0
    return best


def handle_levels(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """same handle on the same network=1, same handle elsewhere=2, a handle close to the
    other's name (Jaro-Winkler >= 0.92)=3, loosely close (>= 0.8)=4, else 5; 0 when
    neither has a handle, or the one without has no name either."""
    levels = np.zeros(len(left), dtype=np.int8)
    some = np.flatnonzero(columns.handles[left] | columns.handles[right])
    a, b = left[some], right[some]
    best = np.maximum(_handle_to_name(columns, a, b), _handle_to_name(columns, b, a))
    levels[some] = np.select([best >= 0.92, best >= 0.8, best >= 0], [3, 4, 5], 0)
    for i in some[columns.handles[a] & columns.handles[b]].tolist():
        mine, theirs = columns.records[left[i]].handles, columns.records[right[i]].handles
        if set(mine) & set(theirs):
            levels[i] = 1
        elif {h for _, h in mine} & {h for _, h in theirs}:
            levels[i] = 2
    return levels


def _name(own: str, other: str) -> Compare:
    def compare(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return _jaro_winkler(columns.fields[own], left, right, (0.94, 0.85), columns.fields[other])

    return compare


def _text(attribute: str, bands: Sequence[float] = (0.92, 0.8)) -> Compare:
    def compare(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return _jaro_winkler(columns.fields[attribute], left, right, bands)

    return compare


def _edit(attribute: str, max_edits: int) -> Compare:
    def compare(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return _edit_distance(columns.fields[attribute], left, right, max_edits)

    return compare


def _date(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return date_levels(columns.dates[left], columns.dates[right])


_NAME = (MISSING, "exact", "jw>=0.94", "jw>=0.85", "swapped", "different")
_TEXT = (MISSING, "exact", "jw>=0.92", "jw>=0.80", "different")
_DATE = (MISSING, "exact", "day-month swapped", "one digit", "same year", "different")

_NAME_M, _NAME_U = (0.85, 0.07, 0.03, 0.02), (0.01, 0.005, 0.02, 0.001)
_TEXT_M, _TEXT_U = (0.8, 0.1, 0.03), (0.002, 0.001, 0.02)
_CONTACT_M, _CONTACT_U = (0.85, 0.05), (0.0001, 0.0005)

DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    Comparison("given_name", _NAME, _name("given_name", "surname"), _NAME_M, _NAME_U, term_frequency=True),
    Comparison("surname", _NAME, _name("surname", "given_name"), _NAME_M, _NAME_U, term_frequency=True),
    Comparison("date_of_birth", _DATE, _date, (0.9, 0.01, 0.04, 0.02), (0.0001, 0.00001, 0.001, 0.012)),
    Comparison(
        "email",
        (MISSING, "exact", "same local part", "different"),
        _overlap("emails", lambda v: v.split("@")[0]),
        _CONTACT_M,
        _CONTACT_U,
    ),
    Comparison(
        "phone",
        (MISSING, "exact", "same last 8 digits", "different"),
        _overlap("phones", lambda v: v[-8:]),
        _CONTACT_M,
        _CONTACT_U,
    ),
    Comparison(
        "handle",
        (MISSING, "same handle", "same handle elsewhere", "name-like", "name-ish", "different"),
        handle_levels,
        (0.6, 0.1, 0.15, 0.1),
        (0.0001, 0.001, 0.005, 0.05),
    ),
    Comparison(
        "national_id",
        (MISSING, "exact", "1 edit", "2 edits", "different"),
        _edit("national_id", 2),
        (0.9, 0.04, 0.02),
        (0.00001, 0.0001, 0.001),
    ),
    Comparison(
        "postcode",
        (MISSING, "exact", "1 edit", "different"),
        _edit("postcode", 1),
        (0.85, 0.07),
        (0.005, 0.05),
    ),
    Comparison(
        "street_number",
        (MISSING, "exact", "1 edit", "different"),
        _edit("street_number", 1),
        (0.85, 0.05),
        (0.02, 0.2),
    ),
    Comparison("street", _TEXT, _text("street"), _TEXT_M, _TEXT_U),
    Comparison("locality", _TEXT, _text("locality"), _TEXT_M, _TEXT_U),
    Comparison("city", _TEXT, _text("city"), _TEXT_M, _TEXT_U),
    Comparison("state", (MISSING, "exact", "different"), _edit("state", 0), (0.95,), (0.2,)),
)


def comparison_levels(
    records: Sequence[PersonRecord] | Columns,
    left: np.ndarray,
    right: np.ndarray,
    comparisons: Sequence[Comparison] = DEFAULT_COMPARISONS,
) -> np.ndarray:
    """Levels of every comparison for the pairs (records[left[i]], records[right[i]]):
    an int8 array of shape (pairs, comparisons). Pass `Columns` to reuse an extraction."""
    columns = records if isinstance(records, Columns) else Columns(records)
    levels = np.zeros((len(left), len(comparisons)), dtype=np.int8)
    if len(left):
        for column, comparison in enumerate(comparisons):
            levels[:, column] = comparison.compare(columns, left, right)
    return levels


def shared_value_counts(
    columns: Columns, left: np.ndarray, levels: np.ndarray, comparisons: Sequence[Comparison]
) -> ValueCounts:
    """The term-frequency counts of the pairs (see ValueCounts) for the comparisons that
    ask for them (`term_frequency`): `left` is one side of each pair (an exact agreement
    holds the same value on both), `levels` the pairs' comparison levels."""
    shared: dict[int, np.ndarray] = {}
    known: dict[int, int] = {}
    for column, comparison in enumerate(comparisons):
        if not comparison.term_frequency:
            continue
        counts = columns.value_counts(comparison.field)
        exact = levels[:, column] == 1
        shared[column] = np.where(exact, counts[columns.fields[comparison.field].codes[left]], 0).astype(
            np.int32
        )
        known[column] = int(counts.sum())
    return ValueCounts(shared, known)
