"""The nightly score recompute at 100,000 customers / 1,000,000 social edges.

Data: the seeded customer base (0-4 purchases each), the graph of `bench.graph.ensure_graph`
(100k identities, 1M edges), and 3,000 referrals among seeded customers (loaded once).
Whatever posts earlier benchmarks left in the database count too (the note says how many).

Measured: `manage.py recompute_scores --no-rollups` in a fresh process (what the beat task
runs, minus the dashboard rollups, which the dashboard benchmark times): wall time, the
time of each step as the run recorded it, and the peak RSS of that process. Floor, in the
same run: the raw data movement such a run cannot avoid - a binary COPY out of the edge
columns, and the COPY out and back in of the snapshot rows it wrote.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from influence.models import Referral, ScoreRun

from .context import FULL, Context
from .graph import FULL_SIZE, QUICK_SIZE, ensure_graph
from .report import Figure

ROOT = Path(__file__).resolve().parents[1]
REFERRALS = 3_000
CHILD = """
import resource, sys, time
import django
django.setup()
from influence import clv, crv, graph  # scipy's import (seconds) is paid once per worker, not per run
from influence.scoring import scores_recompute
started = time.perf_counter()
run = scores_recompute(trigger="bench", rollups=False)
print(run.pk, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _ensure_referrals(customers: int) -> int:
    """REFERRALS referrals among seeded customers, a third converted, loaded once."""
    if Referral.objects.filter(campaign="bench").count() == REFERRALS:
        return REFERRALS
    rng = random.Random(31)
    now = timezone.now()
    rows, pairs = [], set()
    while len(rows) < REFERRALS:
        referrer, referred = rng.randint(1, customers), rng.randint(1, customers)
        if referrer == referred or (referrer, referred) in pairs:
            continue
        pairs.add((referrer, referred))
        referred_at = now - timedelta(days=rng.randint(1, 700))
        converted = rng.random() < 0.35
        rows.append(
            Referral(
                referrer_id=referrer, referred_id=referred, channel="code", campaign="bench",
                referred_at=referred_at, type=rng.choice("12"), reward_amount=10,
                converted_at=referred_at + timedelta(days=rng.randint(0, 30)) if converted else None,
            )
        )  # fmt: skip
    with transaction.atomic():
        Referral.objects.filter(campaign="bench").delete()
        Referral.objects.bulk_create(rows, batch_size=1000)
    return REFERRALS


def _snapshot_copy_floor(run_id: int) -> tuple[float, int]:
    """COPY the run's snapshot rows out, then into an empty temporary twin of the table."""
    started = time.perf_counter()
    buffer = io.StringIO()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_snapshots (LIKE influence_scoresnapshot) ON COMMIT DROP")
        cursor.copy_expert(
            f"COPY (SELECT * FROM influence_scoresnapshot WHERE run_id = {int(run_id)}) TO STDOUT",  # noqa: S608
            buffer,
        )
        rows = buffer.getvalue().count("\n")
        buffer.seek(0)
        cursor.copy_expert("COPY bench_snapshots FROM STDIN", buffer)
    return time.perf_counter() - started, rows


def _edge_copy_floor() -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.copy_expert(
            "COPY (SELECT source_id, target_id, weight, last_seen FROM social_socialedge) "
            "TO STDOUT WITH (FORMAT binary)",
            io.BytesIO(),
        )
    return time.perf_counter() - started


def scores(ctx: Context) -> list[Figure]:
    identities, edges = FULL_SIZE if ctx.sizes.customers >= FULL.customers else QUICK_SIZE
    ensure_graph(ctx, identities, edges)
    referrals = _ensure_referrals(ctx.sizes.customers)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM social_post")
        posts = cursor.fetchone()[0]
    connection.close()  # the child must see every row committed; nothing is held open

    print(f"  recompute_scores in a fresh process ({ctx.sizes.customers:,} customers)...", flush=True)
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"recompute failed: {child.stderr.strip().splitlines()[-1:]}")
    run_id, inside, rss_kb = child.stdout.split()[-3:]
    run = ScoreRun.objects.get(pk=int(run_id))
    timings = run.summary.get("timings", {})
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())

    print("  floor: binary COPY of the edges, COPY of the snapshot rows out and in...", flush=True)
    edge_copy = _edge_copy_floor()
    with transaction.atomic():
        snapshot_copy, rows = _snapshot_copy_floor(run.pk)
    size = f"{run.customers:,} customers / {run.edges:,} edges"
    return [
        Figure(
            "scores_floor",
            "scores floor: COPY out of the edges + COPY out and in of the snapshot rows",
            edge_copy + snapshot_copy,
            "s",
            note=f"edges {edge_copy:.2f} s, {rows:,} snapshot rows {snapshot_copy:.2f} s",
        ),
        Figure(
            "scores_recompute",
            f"recompute_scores, every score of every customer ({size})",
            float(inside),
            "s",
            "scores_floor",
            note=f"{steps}; {referrals:,} referrals, {posts:,} posts; process wall time {wall:.1f} s",
        ),
        Figure(
            "scores_rss",
            "peak RSS of the recompute process",
            int(rss_kb) / 1024,
            "MB",
            note="Django, numpy/scipy and every array of the run",
        ),
    ]
