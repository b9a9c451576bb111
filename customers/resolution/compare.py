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


class Columns:
    """Values of every record extracted once, as arrays that comparisons index by pair."""

    def __init__(self, records: Sequence[PersonRecord]) -> None:
        self.records = records
        self.text = {f: np.array([getattr(r, f) for r in records], dtype=object) for f in TEXT_FIELDS}
        self.text["date_of_birth"] = np.array(
            [r.date_of_birth.isoformat() if r.date_of_birth else "" for r in records], dtype=object
        )
        self.emails = np.array([bool(r.emails) for r in records])
        self.phones = np.array([bool(r.phones) for r in records])
        self.handles = np.array([bool(r.handles) for r in records])


Compare = Callable[[Columns, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Comparison:
    """One field's comparison: its name, the label of every level, and the function that
    maps (columns, left indices, right indices) to an int8 array of levels."""

    field: str
    labels: tuple[str, ...]
    compare: Compare

    @property
    def n_levels(self) -> int:
        return len(self.labels)


def _similarity(left: Sequence[str] | np.ndarray, right: Sequence[str] | np.ndarray) -> np.ndarray:
    return cpdist(list(left), list(right), scorer=JaroWinkler.normalized_similarity, dtype=np.float32)


def _edits(left: Sequence[str] | np.ndarray, right: Sequence[str] | np.ndarray) -> np.ndarray:
    return cpdist(list(left), list(right), scorer=Levenshtein.distance, dtype=np.int32)


def _strings(values: Sequence[str] | np.ndarray) -> np.ndarray:
    return values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)


def jaro_winkler_levels(
    left: Sequence[str], right: Sequence[str], bands: Sequence[float], *, swapped: Sequence[str] | None = None
) -> np.ndarray:
    """exact=1, Jaro-Winkler >= bands[0] -> 2, >= bands[1] -> 3, ..., else (len(bands)+2);
    0 when either side is empty.

    With `swapped` (the right record's other name field), an exact match with it scores
    the level after the bands, "swapped", and disagreement moves one level down."""
    a, b = _strings(left), _strings(right)
    similarity = _similarity(a, b)
    different = len(bands) + 2 + (swapped is not None)
    levels = np.full(len(a), different, dtype=np.int8)
    if swapped is not None:
        levels[(a == _strings(swapped)) & (a != "")] = len(bands) + 2
    for i in range(len(bands) - 1, -1, -1):
        levels[similarity >= bands[i]] = i + 2
    levels[a == b] = 1
    levels[(a == "") | (b == "")] = 0
    return levels


def edit_levels(left: Sequence[str], right: Sequence[str], max_edits: int) -> np.ndarray:
    """exact=1, 1 edit -> 2, ..., `max_edits` edits -> max_edits+1, else max_edits+2;
    0 when either side is empty."""
    a, b = _strings(left), _strings(right)
    edits = _edits(a, b)
    levels = np.where(edits <= max_edits, edits + 1, max_edits + 2).astype(np.int8)
    levels[(a == "") | (b == "")] = 0
    return levels


def date_levels(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """ISO dates: exact=1, day and month transposed=2, one digit typo=3, same year=4,
    else 5; 0 when either is unknown."""
    a, b = _strings(left), _strings(right)
    levels = np.full(len(a), 5, dtype=np.int8)
    levels[np.array([x[:4] == y[:4] for x, y in zip(a, b, strict=True)], dtype=bool)] = 4
    levels[_edits(a, b) == 1] = 3
    transposed = np.array([x[:5] + x[8:] + "-" + x[5:7] for x in a], dtype=object)
    levels[(transposed == b) & (a != b)] = 2
    levels[a == b] = 1
    levels[(a == "") | (b == "")] = 0
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


def handle_levels(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """same handle on the same network=1, same handle elsewhere=2, a handle close to the
    other's name (Jaro-Winkler >= 0.92)=3, loosely close (>= 0.8)=4, else 5; 0 when
    neither has a handle, or the one without has no name either."""
    levels = np.zeros(len(left), dtype=np.int8)
    for i in np.flatnonzero(columns.handles[left] | columns.handles[right]).tolist():
        a, b = columns.records[left[i]], columns.records[right[i]]
        if a.handles and b.handles:
            if set(a.handles) & set(b.handles):
                levels[i] = 1
                continue
            if {h for _, h in a.handles} & {h for _, h in b.handles}:
                levels[i] = 2
                continue
        best = max(
            [_handle_to_name(h, b) for _, h in a.handles] + [_handle_to_name(h, a) for _, h in b.handles]
        )
        levels[i] = 0 if best < 0 else 3 if best >= 0.92 else 4 if best >= 0.8 else 5
    return levels


def _handle_to_name(handle: str, person: PersonRecord) -> float:
    """Best Jaro-Winkler of a handle against the ways a name is written as one; -1 when
    the person has no name."""
    given, surname = _NOT_ALNUM.sub("", person.given_name), _NOT_ALNUM.sub("", person.surname)
    if not (given or surname):
        return -1.0
    letters = _NOT_ALNUM.sub("", handle.lower()).rstrip("0123456789")
    forms = {given + surname, surname + given, given[:1] + surname, given + surname[:1], given, surname} - {
        ""
    }
    return max(JaroWinkler.normalized_similarity(letters, form) for form in forms)


def _name(own: str, other: str) -> Compare:
    def compare(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        text = columns.text
        return jaro_winkler_levels(
            text[own][left], text[own][right], (0.94, 0.85), swapped=text[other][right]
        )

    return compare


def _text(attribute: str, bands: Sequence[float] = (0.92, 0.8)) -> Compare:
    def compare(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return jaro_winkler_levels(columns.text[attribute][left], columns.text[attribute][right], bands)

    return compare


def _edit(attribute: str, max_edits: int) -> Compare:
    def compare(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return edit_levels(columns.text[attribute][left], columns.text[attribute][right], max_edits)

    return compare


def _date(columns: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return date_levels(columns.text["date_of_birth"][left], columns.text["date_of_birth"][right])


_NAME = (MISSING, "exact", "jw>=0.94", "jw>=0.85", "swapped", "different")
_TEXT = (MISSING, "exact", "jw>=0.92", "jw>=0.80", "different")
_DATE = (MISSING, "exact", "day-month swapped", "one digit", "same year", "different")

DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    Comparison("given_name", _NAME, _name("given_name", "surname")),
    Comparison("surname", _NAME, _name("surname", "given_name")),
    Comparison("date_of_birth", _DATE, _date),
    Comparison(
        "email",
        (MISSING, "exact", "same local part", "different"),
        _overlap("emails", lambda v: v.split("@")[0]),
    ),
    Comparison(
        "phone", (MISSING, "exact", "same last 8 digits", "different"), _overlap("phones", lambda v: v[-8:])
    ),
    Comparison(
        "handle",
        (MISSING, "same handle", "same handle elsewhere", "name-like", "name-ish", "different"),
        handle_levels,
    ),
    Comparison("national_id", (MISSING, "exact", "1 edit", "2 edits", "different"), _edit("national_id", 2)),
    Comparison("postcode", (MISSING, "exact", "1 edit", "different"), _edit("postcode", 1)),
    Comparison("street_number", (MISSING, "exact", "1 edit", "different"), _edit("street_number", 1)),
    Comparison("street", _TEXT, _text("street")),
    Comparison("locality", _TEXT, _text("locality")),
    Comparison("city", _TEXT, _text("city")),
    Comparison("state", (MISSING, "exact", "different"), _edit("state", 0)),
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
