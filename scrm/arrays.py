"""Reading a query's result straight into numpy arrays, one per column: for the set-wise
computations (graph, scores) that would otherwise build a Python object per value."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import connection

_FETCH_ROWS = 50_000


def fetch_columns(
    sql: str, params: Sequence[Any], kinds: str, *, copy: bool | None = None
) -> list[np.ndarray]:
    """Run a query whose columns are all non-null BIGINT ("i") or DOUBLE PRECISION ("f")
    and return one numpy array per column. On PostgreSQL with psycopg2 the rows come as one
    binary COPY parsed by numpy in place (~50 bytes a row, no Python object per value);
    elsewhere (or with copy=False) through a plain cursor, fetchmany by pages."""
    with connection.cursor() as cursor:
        can_copy = connection.vendor == "postgresql" and hasattr(cursor, "copy_expert")
        if copy and not can_copy:
            raise ValueError("COPY needs PostgreSQL through psycopg2")
        if can_copy if copy is None else copy:
            return _copy_columns(cursor, cursor.mogrify(sql, list(params)).decode(), kinds)
        cursor.execute(sql, list(params))
        pages = []
        while rows := cursor.fetchmany(_FETCH_ROWS):
            pages.append(np.array(rows, dtype=np.float64).reshape(len(rows), len(kinds)))
    table = np.concatenate(pages) if pages else np.zeros((0, len(kinds)))
    return [table[:, i].astype(np.int64 if kind == "i" else np.float64) for i, kind in enumerate(kinds)]


def _copy_columns(cursor: Any, query: str, kinds: str) -> list[np.ndarray]:
    buffer = io.BytesIO()
    cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    data = buffer.getbuffer()
    # Header: 11-byte signature, int32 flags, int32 extension length (+ extension).
    start = 19 + int.from_bytes(data[15:19], "big")
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"size{i}", ">i4"), (f"value{i}", ">i8" if kind == "i" else ">f8")]
    row = np.dtype(fields)
    count = (len(data) - start - 2) // row.itemsize  # 2: the int16 -1 trailer
    rows = np.frombuffer(data, dtype=row, count=count, offset=start)
    if count and not all((rows[f"size{i}"] == 8).all() for i in range(len(kinds))):
        raise ValueError("fetch_columns expects non-null 8-byte columns")
    return [rows[f"value{i}"].astype(np.int64 if kind == "i" else np.float64) for i, kind in enumerate(kinds)]
