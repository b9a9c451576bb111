"""Customer benchmarks: upsert throughput (service and API) and API read latency.

Each benchmark is a function of a `Context` returning Figures; each Figure names the
floor (bench/floors.py) it is compared with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from customers.inputs import ContactInput, CustomerData, SocialInput
from customers.models import Customer
from customers.services import customer_upsert
from scrm.actors import Actor

from . import seed
from .context import Context
from .load import run_load
from .report import Figure, latency_figures

# --- payloads ---------------------------------------------------------------------------

# Distinct phone ranges (+33 75x...) for the customers each benchmark creates.
SERVICE_PHONES, API_PHONES, PROBE_PHONES = 0, 5_000_000, 9_000_000


def new_customer(number: int, *, phones_from: int, tag: str) -> dict[str, Any]:
    """A customer nobody knows yet, as a partner sends it (the API's JSON shape)."""
    return {
        "first_name": "Camille",
        "last_name": f"Nouveau{number}",
        "emails": [f"camille.nouveau.{tag}.{phones_from + number}@example.org"],
        "phones": [f"+3375{phones_from + number:07d}"],
        "external_ids": {"shop": f"{tag}-{phones_from + number}"},
        "social": [{"network": "x", "handle": f"camille_{tag}_{phones_from + number}"}],
        "attributes": {"tier": "bronze"},
    }


def known_customer(customer: seed.SeededCustomer, *, number: int, tag: str) -> dict[str, Any]:
    """A seeded customer sent again in full, with one attribute changed."""
    payload: dict[str, Any] = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "emails": [customer.email],
        "phones": [customer.phone],
        "external_ids": {seed.SEED_SOURCE: customer.external_id},
        "attributes": {"last_sync": f"{tag}-{number}"},
    }
    if customer.handle:
        payload["social"] = [{"network": "x", "handle": customer.handle}]
    return payload


def as_customer_data(payload: dict[str, Any]) -> CustomerData:
    return CustomerData(
        first_name=payload.get("first_name"),
        last_name=payload.get("last_name"),
        emails=[ContactInput(value=v) for v in payload.get("emails", [])],
        phones=[ContactInput(value=v) for v in payload.get("phones", [])],
        external_ids=dict(payload.get("external_ids", {})),
        social=[SocialInput(**s) for s in payload.get("social", [])],
        attributes=dict(payload.get("attributes", {})),
        source="bench",
    )


def upsert_payloads(ctx: Context, count: int, *, phones_from: int) -> list[dict[str, Any]]:
    """`count` upserts alternating a new customer and a known one (half creates, half updates)."""
    known = seed.sample(ctx.sizes.customers, (count + 1) // 2, ctx.rng)
    return [
        new_customer(n, phones_from=phones_from, tag=ctx.tag)
        if n % 2 == 0
        else known_customer(known[(n // 2) % len(known)], number=n, tag=ctx.tag)
        for n in range(count)
    ]


LIST_PATH = "/api/v1/customers/"

# --- benchmarks -------------------------------------------------------------------------


def upsert_service(ctx: Context) -> list[Figure]:
    """customer_upsert called in-process, one transaction per call, no HTTP.

    Measures the service layer alone: matching, normalisation, writes and the audit entry.
    """
    payloads = upsert_payloads(ctx, ctx.sizes.upserts, phones_from=SERVICE_PHONES)
    actor = Actor.system("bench")
    took: dict[bool, list[float]] = {True: [], False: []}
    deadline = time.monotonic() + ctx.sizes.max_seconds
    started = time.perf_counter()
    for payload in payloads:
        if time.monotonic() > deadline:
            break
        call_started = time.perf_counter()
        _customer, created = customer_upsert(data=as_customer_data(payload), actor=actor)
        took[created].append(time.perf_counter() - call_started)
    elapsed = time.perf_counter() - started
    done = len(took[True]) + len(took[False])
    label = "upsert via service"
    return [
        Figure(
            "upsert_service",
            f"{label} ({done}/{len(payloads)})",
            done / elapsed,
            "customers/s",
            "save",
        ),
        *latency_figures(
            "upsert_service_create",
            f"{label}, create ({len(took[True])})",
            took[True],
            floor="save_ms",
            one_floor=True,
        ),
        *latency_figures(
            "upsert_service_update",
            f"{label}, update ({len(took[False])})",
            took[False],
            floor="save_ms",
            one_floor=True,
        ),
    ]


def upsert_api(ctx: Context) -> list[Figure]:
    """PUT /api/v1/customers/upsert/ with a partner key, on gunicorn (2 sync workers).

    Measures the whole partner path: authentication, throttling, input serializer, the
    service, and the 360 body the endpoint answers with.
    """
    payloads = upsert_payloads(ctx, ctx.sizes.api_upserts, phones_from=API_PHONES)
    url = f"{ctx.base_url}/api/v1/customers/upsert/"

    def call(session: requests.Session, n: int) -> requests.Response:
        return session.put(url, json=payloads[n], headers=ctx.auth, timeout=60)

    result = run_load(call, count=len(payloads), max_seconds=ctx.sizes.max_seconds)
    result.describe_failures("PUT /api/v1/customers/upsert/")
    return [
        Figure(
            "upsert_api",
            f"upsert via API PUT ({result.done})",
            result.rate,
            "customers/s",
            "health_rate",
        ),
        *latency_figures("upsert_api", "upsert via API PUT", result.latencies, floor="health"),
    ]


def _read_benchmark(
    ctx: Context, key: str, label: str, path: Callable[[int], str], params: Callable[[int], dict[str, Any]]
) -> list[Figure]:
    def call(session: requests.Session, n: int) -> requests.Response:
        return session.get(f"{ctx.base_url}{path(n)}", params=params(n), headers=ctx.auth, timeout=60)

    result = run_load(call, count=ctx.sizes.reads, max_seconds=ctx.sizes.max_seconds)
    result.describe_failures(label)
    return latency_figures(key, f"{label} ({result.done})", result.latencies, floor="health")


def _search(
    people: list[seed.SeededCustomer], text_of: Callable[[seed.SeededCustomer], str]
) -> Callable[[int], dict[str, Any]]:
    """Query string of the n-th search: 50 a page, `q` what we know of a seeded customer."""
    return lambda n: {"page_size": 50, "q": text_of(people[n % len(people)])}


def list_api(ctx: Context) -> list[Figure]:
    """GET /api/v1/customers/, 50 a page: plain pages, then ?q= by e-mail, by phone (typed
    the national way, `06 10 ...`) and by last name. Latency at the seeded size."""
    pages = max(1, min(20, ctx.sizes.customers // 50))
    people = seed.sample(ctx.sizes.customers, ctx.sizes.reads, ctx.rng)
    page_numbers = [ctx.rng.randint(1, pages) for _ in range(ctx.sizes.reads)]
    searches: list[tuple[str, str, Callable[[seed.SeededCustomer], str]]] = [
        ("email", "e-mail", lambda p: p.email),
        ("phone", "phone", lambda p: seed.national_phone(p.phone)),
        ("name", "last name", lambda p: p.last_name),
    ]
    figures = _read_benchmark(
        ctx,
        "list_page",
        "list API page",
        lambda n: LIST_PATH,
        lambda n: {"page_size": 50, "page": page_numbers[n]},
    )
    for key, label, text_of in searches:
        figures += _read_benchmark(
            ctx, f"list_{key}", f"list API ?q={label}", lambda n: LIST_PATH, _search(people, text_of)
        )
    return figures


def detail_api(ctx: Context) -> list[Figure]:
    """GET /api/v1/customers/<id>/, the 360 of a random seeded customer."""
    people = seed.sample(ctx.sizes.customers, ctx.sizes.reads, ctx.rng)
    return _read_benchmark(
        ctx,
        "detail",
        "360 API GET",
        lambda n: f"/api/v1/customers/{people[n % len(people)].id}/",
        lambda n: {},
    )


def query_counts(ctx: Context) -> list[Figure]:
    """SQL queries one request runs (in-process test client): N+1 shows up here first."""
    person = seed.sample(ctx.sizes.customers, 1, ctx.rng)[0]
    client = Client(headers=ctx.auth, HTTP_HOST="127.0.0.1")
    base = LIST_PATH
    probes: list[tuple[str, Callable[[], Any]]] = [
        ("list API page", lambda: client.get(base, {"page_size": "50"})),
        ("list API ?q=e-mail", lambda: client.get(base, {"page_size": "50", "q": person.email})),
        (
            "list API ?q=phone",
            lambda: client.get(base, {"page_size": "50", "q": seed.national_phone(person.phone)}),
        ),
        ("list API ?q=last name", lambda: client.get(base, {"page_size": "50", "q": person.last_name})),
        ("360 API GET", lambda: client.get(f"/api/v1/customers/{person.id}/")),
        (
            "upsert API, create",
            lambda: client.put(
                "/api/v1/customers/upsert/",
                new_customer(0, phones_from=PROBE_PHONES, tag=ctx.tag),
                content_type="application/json",
            ),
        ),
        (
            "upsert API, update",
            lambda: client.put(
                "/api/v1/customers/upsert/",
                known_customer(person, number=0, tag=ctx.tag),
                content_type="application/json",
            ),
        ),
    ]
    ContentType.objects.get_for_model(Customer)  # cached per process: count the steady state
    figures = []
    for label, probe in probes:
        with CaptureQueriesContext(connection) as captured:
            response = probe()
        if response.status_code >= 300:
            print(f"  {label}: HTTP {response.status_code} {response.content[:300]!r}")
        sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        matches = f", {response.json()['count']:,} matches" if label.startswith("list") else ""
        figures.append(
            Figure(
                f"queries_{label}",
                f"SQL per request: {label}",
                len(captured),
                "queries",
                note=f"{sql_ms:.1f} ms in SQL, {len(response.content):,} bytes{matches}",
            )
        )
    return figures
