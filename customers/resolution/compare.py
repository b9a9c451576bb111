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
Compare = Callable[[Sequence[PersonRecord], Sequence[PersonRecord]], np.ndarray]
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class Comparison:
    """One field's comparison: its name, the label of every level, and the function that
    maps (left records, right records) to an int8 array of levels."""

    field: str
    labels: tuple[str, ...]
    compare: Compare

    @property
    def n_levels(self) -> int:
        return len(self.labels)


def _strings(values: Sequence[str]) -> np.ndarray:
    return np.asarray(values, dtype=object)


def _similarity(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    return cpdist(list(left), list(right), scorer=JaroWinkler.normalized_similarity, dtype=np.float32)


def _edits(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    return cpdist(list(left), list(right), scorer=Levenshtein.distance, dtype=np.int32)


def jaro_winkler_levels(
    left: Sequence[str], right: Sequence[str], bands: Sequence[float], *, swapped: Sequence[str] | None = None
) -> np.ndarray:
    """exact=1, Jaro-Winkler >= bands[0] -> 2, >= bands[1] -> 3, ..., else (len(bands)+2).

    With `swapped` (the right record's other name field), an exact match with it scores
    the level after the bands, "swapped", and disagreement moves one level down."""
    a, b = _strings(left), _strings(right)
    similarity = _similarity(left, right)
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
    """exact=1, 1 edit -> 2, ..., `max_edits` edits -> max_edits+1, else max_edits+2."""
    a, b = _strings(left), _strings(right)
    edits = _edits(left, right)
    levels = np.where(edits <= max_edits, edits + 1, max_edits + 2).astype(np.int8)
    levels[(a == "") | (b == "")] = 0
    return levels


def date_levels(left: Sequence[PersonRecord], right: Sequence[PersonRecord]) -> np.ndarray:
    """exact=1, day and month transposed=2, one digit typo=3, same year=4, else 5."""
    a = [r.date_of_birth.strftime("%Y%m%d") if r.date_of_birth else "" for r in left]
    b = [r.date_of_birth.strftime("%Y%m%d") if r.date_of_birth else "" for r in right]
    sa, sb = _strings(a), _strings(b)
    levels = np.full(len(a), 5, dtype=np.int8)
    year_a = np.asarray([s[:4] for s in a], dtype=object)
    year_b = np.asarray([s[:4] for s in b], dtype=object)
    levels[year_a == year_b] = 4
    levels[_edits(a, b) == 1] = 3
    transposed = np.asarray([s[:4] + s[6:] + s[4:6] for s in a], dtype=object)
    levels[(transposed == sb) & (sa != sb)] = 2
    levels[sa == sb] = 1
    levels[(sa == "") | (sb == "")] = 0
    return levels


def _overlap_levels(
    left: Sequence[tuple[str, ...]], right: Sequence[tuple[str, ...]], near: Callable[[str], str]
) -> np.ndarray:
    """any value shared=1, any `near(value)` shared=2, else 3; missing when a side has none."""
    levels = np.zeros(len(left), dtype=np.int8)
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        if a and b:
            if set(a) & set(b):
                levels[i] = 1
            elif {near(v) for v in a} & {near(v) for v in b}:
                levels[i] = 2
            else:
                levels[i] = 3
    return levels


def handle_levels(left: Sequence[PersonRecord], right: Sequence[PersonRecord]) -> np.ndarray:
    """same handle on the same network=1, same handle elsewhere=2, a handle close to the
    other's name (Jaro-Winkler >= 0.92)=3, loosely close (>= 0.8)=4, else 5."""
    levels = np.zeros(len(left), dtype=np.int8)
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        if not (a.handles or b.handles):
            continue
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


def _name(left: Sequence[PersonRecord], right: Sequence[PersonRecord], given: bool) -> np.ndarray:
    own = [r.given_name if given else r.surname for r in left]
    theirs = [r.given_name if given else r.surname for r in right]
    other = [r.surname if given else r.given_name for r in right]
    return jaro_winkler_levels(own, theirs, (0.94, 0.85), swapped=other)


def _text(attribute: str, bands: Sequence[float] = (0.92, 0.8)) -> Compare:
    def compare(left: Sequence[PersonRecord], right: Sequence[PersonRecord]) -> np.ndarray:
        return jaro_winkler_levels(
            [getattr(r, attribute) for r in left], [getattr(r, attribute) for r in right], bands
        )

    return compare


def _edit(attribute: str, max_edits: int) -> Compare:
    def compare(left: Sequence[PersonRecord], right: Sequence[PersonRecord]) -> np.ndarray:
        return edit_levels(
            [getattr(r, attribute) for r in left], [getattr(r, attribute) for r in right], max_edits
        )

    return compare


_NAME = (MISSING, "exact", "jw>=0.94", "jw>=0.85", "swapped", "different")
_TEXT = (MISSING, "exact", "jw>=0.92", "jw>=0.80", "different")

DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    Comparison("given_name", _NAME, lambda a, b: _name(a, b, True)),
    Comparison("surname", _NAME, lambda a, b: _name(a, b, False)),
    Comparison(
        "date_of_birth",
        (MISSING, "exact", "day-month swapped", "one digit", "same year", "different"),
        date_levels,
    ),
    Comparison(
        "email",
        (MISSING, "exact", "same local part", "different"),
        lambda a, b: _overlap_levels([r.emails for r in a], [r.emails for r in b], lambda v: v.split("@")[0]),
    ),
    Comparison(
        "phone",
        (MISSING, "exact", "same last 8 digits", "different"),
        lambda a, b: _overlap_levels([r.phones for r in a], [r.phones for r in b], lambda v: v[-8:]),
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
    records: Sequence[PersonRecord],
    left: np.ndarray,
    right: np.ndarray,
    comparisons: Sequence[Comparison] = DEFAULT_COMPARISONS,
) -> np.ndarray:
    """Levels of every comparison for the pairs (records[left[i]], records[right[i]]):
    an int8 array of shape (pairs, comparisons)."""
    a = [records[i] for i in left.tolist()]
    b = [records[i] for i in right.tolist()]
    levels = np.zeros((len(a), len(comparisons)), dtype=np.int8)
    for column, comparison in enumerate(comparisons):
        if a:
            levels[:, column] = comparison.compare(a, b)
    return levels
