"""Query results read into numpy arrays: the binary COPY and the plain cursor agree."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from scrm.arrays import fetch_columns
from tests.factories import SocialIdentityFactory


@pytest.mark.django_db
def test_binary_copy_and_the_plain_cursor_read_the_same_columns() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's; SQLite always reads through the cursor")
    a, b = SocialIdentityFactory(followers_count=12), SocialIdentityFactory(followers_count=None)
    sql = "SELECT CAST(id AS BIGINT), CAST(COALESCE(followers_count, -1) AS DOUBLE PRECISION) FROM customers_socialidentity ORDER BY id"  # noqa: E501
    copied = fetch_columns(sql, [], "if", copy=True)
    fetched = fetch_columns(sql, [], "if", copy=False)
    assert [c.tolist() for c in copied] == [c.tolist() for c in fetched] == [[a.pk, b.pk], [12.0, -1.0]]
    assert copied[0].dtype == np.int64 and copied[1].dtype == np.float64
    empty = fetch_columns(sql.replace("ORDER BY", "WHERE id < 0 ORDER BY"), [], "if", copy=True)
    assert [len(c) for c in empty] == [0, 0]
