"""python -m bench [--only NAME[,NAME]] [--customers N] [--quick] [--reseed]

Seeds (or reuses) the scrm_bench database, measures the floors, runs the benchmarks and
prints every figure next to the floor measured in the same run. Asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import time
import warnings
from collections.abc import Callable

from .database import configure_environment, ensure_database, migrate

# Settings are read from the environment when Django starts: configure it first.
SERVER_ENVIRONMENT = configure_environment()
# The test settings serve no collected static files; whitenoise says so once per client.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

import django  # noqa: E402

django.setup()

from scrm.actors import Actor  # noqa: E402
from scrm.services import api_key_create  # noqa: E402

from . import customers, dashboard, floors, graph, inbox, ingestion, resolution, scores, seed, sentiment  # noqa: E402
from .context import FULL, QUICK, Context  # noqa: E402
from .report import Figure, peak_rss_mb, render_table  # noqa: E402
from .server import WORKERS, gunicorn  # noqa: E402

# name -> (benchmark, whether it needs the HTTP server). A benchmark takes the Context and
# returns Figures, each naming the floor it is compared with.
BENCHMARKS: dict[str, tuple[Callable[[Context], list[Figure]], bool]] = {
    "upsert-service": (customers.upsert_service, False),
    "upsert-api": (customers.upsert_api, True),
    "list-api": (customers.list_api, True),
    "detail-api": (customers.detail_api, True),
    "queries": (customers.query_counts, False),
    "sentiment": (sentiment.sentiment, False),
    "resolution": (resolution.resolution, False),
    "ingestion": (ingestion.ingestion, False),
    "inbox": (inbox.inbox, True),
    "dashboard": (dashboard.dashboard, True),
    "graph": (graph.graph, False),
    "scores": (scores.scores, False),
}

# A partner key fast enough never to be throttled by the benchmark itself.
BENCH_RATE_PER_MINUTE = 1_000_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--only", default="", help=f"comma-separated, among: {', '.join(BENCHMARKS)}")
    parser.add_argument("--customers", type=int, help="seeded customers (default 100000, --quick 2000)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--reseed", action="store_true", help="reload the seeded customers")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = sorted(set(args.only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if args.customers is not None and args.customers < 100:
        parser.error("--customers must be at least 100")
    return args


def run(args: argparse.Namespace) -> list[Figure]:
    sizes = QUICK if args.quick else FULL
    if args.customers:
        sizes = dataclasses.replace(sizes, customers=args.customers)
    print(f"Sizes: {sizes}", flush=True)
    print(f"Database {ensure_database()}; migrating...", flush=True)
    migrate()
    seed.ensure_seeded(sizes.customers, reseed=args.reseed)
    _key, plain = api_key_create(
        name="bench",
        scopes=["customers:read", "customers:write"],
        actor=Actor.system("bench"),
        rate_per_minute=BENCH_RATE_PER_MINUTE,
    )
    ctx = Context(sizes=sizes, rng=random.Random(7), tag=f"r{int(time.time())}", api_key=plain)

    floor_figures: list[Figure] = []
    measured: dict[str, list[Figure]] = {}
    if "upsert-service" in args.only:
        print("Floors: ORM bulk_create and .save()...", flush=True)
        floor_figures += floors.orm_floors(bulk_rows=sizes.bulk_rows, save_rows=sizes.save_rows)
    for name in args.only:
        if not BENCHMARKS[name][1]:
            print(f"Benchmark {name}...", flush=True)
            measured[name] = BENCHMARKS[name][0](ctx)
    over_http = [name for name in args.only if BENCHMARKS[name][1]]
    if over_http:
        print(f"Starting gunicorn ({WORKERS} sync workers)...", flush=True)
        with gunicorn(SERVER_ENVIRONMENT) as base_url:
            ctx.base_url = base_url
            print("Floor: HTTP GET /health/...", flush=True)
            floor_figures += floors.http_floor(base_url, count=sizes.health, max_seconds=sizes.max_seconds)
            for name in over_http:
                print(f"Benchmark {name}...", flush=True)
                measured[name] = BENCHMARKS[name][0](ctx)
    return floor_figures + [f for name in BENCHMARKS if name in measured for f in measured[name]]


def load_average() -> str:
    """Other work on the machine moves every figure; the ratios to the floors move less."""
    one, five, fifteen = os.getloadavg()
    return f"Load average (1, 5, 15 min): {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def main(argv: list[str]) -> None:
    started = time.perf_counter()
    args = parse_args(argv)
    print(load_average())
    figures = run(args)
    print()
    print(render_table(figures))
    print()
    print(load_average())
    print(f"Peak RSS of the bench process: {peak_rss_mb():,.0f} MB")
    if any(BENCHMARKS[name][1] for name in args.only):
        print(f"Peak RSS of the largest gunicorn process: {peak_rss_mb(children=True):,.0f} MB")
    print(f"Total time: {time.perf_counter() - started:,.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
