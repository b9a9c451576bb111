"""The raw floors, measured in the same run as the benchmarks they are compared with.

- ORM: Django `bulk_create` (batches of 1,000) and `.save()` one by one in autocommit, for
  Customer rows, into the same 100k-row tables. No application code runs.
- HTTP: GET /health/ on the same gunicorn: a tiny JSON view that does `SELECT 1` and a
  Redis set/get, with no authentication, throttling nor serializer. It is the cost of a
  request through the stack with the same client and concurrency.
"""

from __future__ import annotations

import time

from django.db import transaction

from customers.models import Customer

from .load import run_load
from .report import Figure, latency_figures

FLOOR_MARKER = "bench-floor"


def orm_floors(*, bulk_rows: int, save_rows: int) -> list[Figure]:
    """Rows/s of bulk_create(batch_size=1000) and of one-by-one .save() for Customer."""
    batch = [Customer(first_name=FLOOR_MARKER, last_name=f"Bulk{i}") for i in range(bulk_rows)]
    started = time.perf_counter()
    with transaction.atomic():
        Customer.objects.bulk_create(batch, batch_size=1000)
    bulk_rate = bulk_rows / (time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(save_rows):
        Customer(first_name=FLOOR_MARKER, last_name=f"Save{i}").save()
    save_seconds = time.perf_counter() - started

    Customer.objects.filter(first_name=FLOOR_MARKER).delete()
    return [
        Figure("bulk_create", "floor: ORM bulk_create(1000) Customer", bulk_rate, "rows/s"),
        Figure("save", "floor: ORM .save() one by one (autocommit)", save_rows / save_seconds, "rows/s"),
        Figure("save_ms", "floor: ORM one .save() (autocommit)", save_seconds / save_rows * 1000, "ms"),
    ]


def http_floor(base_url: str, *, count: int, max_seconds: float) -> list[Figure]:
    """Requests/s and latency of GET /health/ on the benchmark's gunicorn."""
    result = run_load(lambda s, _n: s.get(f"{base_url}/health/"), count=count, max_seconds=max_seconds)
    result.describe_failures("GET /health/")
    return [
        Figure("health_rate", "floor: HTTP GET /health/ (tiny JSON view)", result.rate, "requests/s"),
        *latency_figures("health", "floor: HTTP GET /health/", result.latencies),
    ]
