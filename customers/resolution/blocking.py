"""Candidate generation by blocking: only records sharing a key value are compared.

Each blocking key maps a record to zero or more values; two records become a candidate
pair when any key gives them a common value. Blocks larger than `max_block_size` are
skipped (and reported), which keeps the work near-linear in the number of records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .records import PersonRecord

BlockingKey = Callable[[PersonRecord], Iterable[str]]

_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_NOT_ALPHA = re.compile(r"[^a-z]")
_SOUNDEX_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


def soundex(name: str) -> str:
    """American Soundex of a name (`robert` -> `r163`); "" when it has no letters."""
    letters = _NOT_ALPHA.sub("", name.lower())
    if not letters:
        return ""
    code, last = letters[0], _SOUNDEX_CODES.get(letters[0], "")
    for ch in letters[1:]:
        digit = _SOUNDEX_CODES.get(ch, "")
        if digit and digit != last:
            code += digit
        if ch not in "hw":
            last = digit
    return (code + "000")[:4]


def _dob(r: PersonRecord) -> str:
    return r.date_of_birth.isoformat() if r.date_of_birth else ""


def _name_forms(r: PersonRecord) -> Iterable[str]:
    """A name written as a handle would be (`janedoe`), so handles meet names."""
    given, surname = _NOT_ALNUM.sub("", r.given_name), _NOT_ALNUM.sub("", r.surname)
    if given and surname:
        yield given + surname
        yield surname + given
    for _network, handle in r.handles:
        letters = _NOT_ALPHA.sub("", handle)
        if len(letters) >= 5:
            yield letters


def _all(*parts: str) -> Iterable[str]:
    """One key value when every part is known, none otherwise."""
    if all(parts):
        yield "|".join(parts)


DEFAULT_KEYS: dict[str, BlockingKey] = {
    "email": lambda r: r.emails,
    "phone": lambda r: r.phones,
    "handle": lambda r: (f"{n}:{h}" for n, h in r.handles),
    "name_as_handle": _name_forms,
    "national_id": lambda r: _all(r.national_id),
    "surname_soundex+initial": lambda r: _all(soundex(r.surname), r.given_name[:1]),
    "given_soundex+surname_initial": lambda r: _all(soundex(r.given_name), r.surname[:1]),
    "surname+postcode": lambda r: _all(r.surname, r.postcode),
    "dob+surname3": lambda r: _all(_dob(r), r.surname[:3]),
    "dob+given3": lambda r: _all(_dob(r), r.given_name[:3]),
    "postcode+street_number": lambda r: _all(r.postcode, r.street_number),
    "postcode+street4": lambda r: _all(r.postcode, _NOT_ALNUM.sub("", r.street)[:4]),
    "street_number+street4": lambda r: _all(r.street_number, _NOT_ALNUM.sub("", r.street)[:4]),
    "dob": lambda r: _all(_dob(r)),
}


@dataclass(frozen=True)
class OversizedBlock:
    key: str
    value: str
    size: int


@dataclass
class CandidatePairs:
    """Candidate pairs as two aligned index arrays into the records (left < right)."""

    left: np.ndarray
    right: np.ndarray
    pairs_by_key: dict[str, int] = field(default_factory=dict)
    oversized: list[OversizedBlock] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.left)


def _pairs_within_blocks(codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """All pairs of rows sharing a code, encoded `i * 2**32 + j` with i < j.

    Sorting by code puts each block in a run; comparing each position with the one d
    places further, for d = 1, 2, ..., enumerates every pair once, without a Python loop
    over blocks."""
    order = np.lexsort((rows, codes))
    codes, rows = codes[order], rows[order]
    found: list[np.ndarray] = []
    for d in range(1, len(codes)):
        same = codes[d:] == codes[:-d]
        if not same.any():
            break
        a, b = rows[:-d][same], rows[d:][same]
        found.append(np.minimum(a, b) << 32 | np.maximum(a, b))
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def candidate_pairs(
    records: Sequence[PersonRecord],
    *,
    groups: Sequence[int] | None = None,
    keys: dict[str, BlockingKey] | None = None,
    max_block_size: int = 50,
) -> CandidatePairs:
    """Every pair of records sharing a value of at least one blocking key, once.

    `groups` (one int per record) restricts pairs to records of different groups, for
    linking two sources. Blocks with more than `max_block_size` records are not expanded
    and are listed in `oversized`. `pairs_by_key` counts the pairs each key generated,
    before de-duplication across keys."""
    keys = DEFAULT_KEYS if keys is None else keys
    group_of = np.asarray(groups, dtype=np.int64) if groups is not None else None
    result = CandidatePairs(left=np.empty(0, np.int64), right=np.empty(0, np.int64))
    encoded: list[np.ndarray] = []
    for name, key in keys.items():
        values: dict[str, int] = {}
        rows: list[int] = []
        codes: list[int] = []
        for row, record in enumerate(records):
            for value in set(key(record)):
                rows.append(row)
                codes.append(values.setdefault(value, len(values)))
        if not rows:
            continue
        code_array, row_array = np.asarray(codes, np.int64), np.asarray(rows, np.int64)
        sizes = np.bincount(code_array)
        big = np.flatnonzero(sizes > max_block_size)
        if len(big):
            by_code = {code: value for value, code in values.items()}
            result.oversized += [OversizedBlock(name, by_code[int(c)], int(sizes[c])) for c in big]
            keep = sizes[code_array] <= max_block_size
            code_array, row_array = code_array[keep], row_array[keep]
        pairs = _pairs_within_blocks(code_array, row_array)
        if group_of is not None:
            pairs = pairs[group_of[pairs >> 32] != group_of[pairs & 0xFFFFFFFF]]
        result.pairs_by_key[name] = len(pairs)
        encoded.append(pairs)
    unique = np.unique(np.concatenate(encoded)) if encoded else np.empty(0, np.int64)
    result.left, result.right = unique >> 32, unique & 0xFFFFFFFF
    return result
