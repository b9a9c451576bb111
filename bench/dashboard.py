"""The marketing dashboard (`/insights/`) at 1,000,000 posts, next to the HTTP floor.

Data (deterministic, kept between runs): N posts written by INSERT ... SELECT
generate_series over the last 365 days, on X, Instagram, Facebook and TikTok, in English
and French, 80 % by a seeded customer's identity (customers get one of the four segments
where they have none); each matches the brand rule "Bench Acme" (spring campaign, 70 %),
the brand rule "Bench Kettle" (kettle campaign, 10 %), the competitor rules "Bench Globex"
(20 %) or "Bench Initech" (8 %), or nothing (5 %). A finished score run with one snapshot
per seeded customer (100,000) is inserted directly. A rule's cursor records how many
posts were seeded; ingestion's reset truncates the social tables and the posts are
seeded again on the next run.

Measured: the rollups' full rebuild and the 2-day refresh the workers run every five
minutes, the SQL each page runs (in-process), then GET /insights/ (default: last 30
days) and /insights/?period=90&network=x over HTTP as a marketing user, p50 / p95 next
to the /health/ floor. The snapshot figures are cached per run: the first request after
a run pays for them (its time is printed), the others read the cache.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, SocialIdentity
from influence.models import PostRollup, ScoreRun, ScoreSnapshot
from influence.rollups import rollups_refresh
from scrm.roles import MARKETING, sync_roles
from social.models import ListeningRule, Post, PostRuleMatch

from .context import FULL, Context
from .load import page_figures
from .report import Figure

POSTS_FULL, POSTS_QUICK = 1_000_000, 20_000
PREFIX = "bench-dash-"
MARKER = "Bench Acme"  # the brand rule; its cursor says how many posts were seeded
USER = "bench-marketer"
TRIGGER = "bench-dashboard"
PAGE = "/insights/"
PROBES: list[tuple[str, str, dict[str, str]]] = [
    ("dashboard_30d", "dashboard, last 30 days", {}),
    ("dashboard_90d_x", "dashboard, 90 days, network=x", {"period": "90", "network": "x"}),
]
RULES = [
    ("Bench Acme", ListeningRule.Kind.BRAND, "spring"),
    ("Bench Kettle", ListeningRule.Kind.BRAND, "kettle"),
    ("Bench Globex", ListeningRule.Kind.COMPETITOR, "spring"),
    ("Bench Initech", ListeningRule.Kind.COMPETITOR, ""),
]

POSTS_SQL = """
CREATE TEMP TABLE bench_dash_authors ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) AS n, id, network
    FROM {identity} WHERE customer_id <= %(customers)s;
SELECT setseed(0.20261123);
INSERT INTO {post} (network, external_id, author_id, text, language, created_at, url, in_reply_to,
                    conversation, "references", mentions, likes, replies, reposts, quotes, metrics,
                    sentiment, sentiment_label, sentiment_model, from_brand, flagged, flag_reasons,
                    case_id, source, raw, ingested_at)
WITH draws AS MATERIALIZED (
    SELECT i, random() AS t, random() AS s, random() AS a, random() AS e,
           (SELECT count(*) FROM bench_dash_authors) AS authors
    FROM generate_series(1, %(count)s) AS i
)
SELECT COALESCE(au.network, (ARRAY['x', 'instagram', 'facebook', 'tiktok'])[1 + (i %% 4)]),
       %(prefix)s || i, au.id,
       'Bench post ' || i || ' about Acme',
       CASE WHEN i %% 5 = 0 THEN 'fr' ELSE 'en' END,
       now() - make_interval(secs => t * 365 * 86400),
       '', '', '', '[]'::jsonb, '[]'::jsonb,
       floor(e * e * 40)::int, floor(e * 4)::int, floor(e * e * 10)::int, 0, '{{}}'::jsonb,
       s * 2 - 1,
       CASE WHEN s * 2 - 1 >= 0.05 THEN 'positive' WHEN s * 2 - 1 <= -0.05 THEN 'negative'
            ELSE 'neutral' END,
       'bench', false, false, '[]'::jsonb, NULL, 'api', '{{}}'::jsonb, now()
FROM draws
LEFT JOIN bench_dash_authors au ON a < 0.8 AND au.n = 1 + (i::bigint * 7919) %% authors;
"""

MATCHES_SQL = """
INSERT INTO {match} (post_id, rule_id, kind, created_at)
SELECT p.id, r.id, r.kind, p.created_at
FROM {post} p
JOIN {rule} r ON r.name = CASE
    WHEN p.id %% 100 < 60 THEN 'Bench Acme'
    WHEN p.id %% 100 < 70 THEN 'Bench Kettle'
    WHEN p.id %% 100 < 87 THEN 'Bench Globex'
    WHEN p.id %% 100 < 95 THEN 'Bench Initech'
END
   OR (r.name = 'Bench Acme' AND p.id %% 100 BETWEEN 70 AND 79)
   OR (r.name = 'Bench Globex' AND p.id %% 100 BETWEEN 60 AND 62)
WHERE p.external_id LIKE %(like)s;
"""

DELETE_SQL = """
DELETE FROM {rollup} WHERE rule_id IN (SELECT id FROM {rule} WHERE name IN %(names)s);
DELETE FROM {match} WHERE rule_id IN (SELECT id FROM {rule} WHERE name IN %(names)s);
DELETE FROM {match} WHERE post_id IN (SELECT id FROM {post} WHERE external_id LIKE %(like)s);
DELETE FROM {post} WHERE external_id LIKE %(like)s;
DELETE FROM {rule} WHERE name IN %(names)s;
"""

SEGMENTS_SQL = """
UPDATE {customer} SET segment = (ARRAY['champions', 'affluents', 'advocates', 'misers'])[1 + id %% 4]
WHERE id <= %(customers)s AND segment = '';
"""

SNAPSHOTS_SQL = """
INSERT INTO {snapshot} (run_id, customer_id, as_of, influence, influence_components, clv, clv_basis,
                        expected_purchases, crv, crv_realised, crv_expected, referrals,
                        referrals_converted, segment, sentiment_index, sentiment_positive,
                        sentiment_negative, sentiment_posts, nps_category, computed_at)
SELECT %(run)s, c.id, %(as_of)s,
       CASE WHEN c.id %% 3 = 0 THEN NULL ELSE (c.id * 37 %% 10000) / 100.0 END, '{{}}'::jsonb,
       (CASE WHEN c.segment IN ('champions', 'affluents') THEN 300 ELSE 40 END)
           + (c.id * 13 %% 20000) / 100.0,
       'model', 1.5,
       (CASE WHEN c.segment IN ('champions', 'advocates') THEN 50 ELSE 0 END) + (c.id * 17 %% 3000) / 100.0,
       0, 0, c.id %% 4, c.id %% 2, c.segment, (c.id %% 200) - 100, 0, 0, c.id %% 9,
       (ARRAY['promoter', 'passive', 'detractor', ''])[1 + c.id %% 4], now()
FROM {customer} c WHERE c.id <= %(customers)s AND c.merged_into_id IS NULL;
"""


def _tables() -> dict[str, str]:
    models = {
        "identity": SocialIdentity,
        "post": Post,
        "match": PostRuleMatch,
        "rule": ListeningRule,
        "customer": Customer,
        "snapshot": ScoreSnapshot,
        "rollup": PostRollup,
    }
    return {key: connection.ops.quote_name(model._meta.db_table) for key, model in models.items()}


def _seeded() -> int:
    rule = ListeningRule.objects.filter(name=MARKER).first()
    return int(rule.cursor.get("bench_posts", 0)) if rule else 0


def ensure_posts(count: int, customers: int) -> None:
    """Seed `count` bench posts and their rule matches unless exactly that many are there."""
    have = _seeded()
    if have == count:
        print(f"  {count:,} bench posts already there.", flush=True)
        return
    print(f"  seeding {count:,} posts (the database had {have:,})...", flush=True)
    started = time.perf_counter()
    tables = _tables()
    params: dict[str, Any] = {"customers": customers, "count": count, "prefix": PREFIX, "like": f"{PREFIX}%"}
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Plain SQL: the ORM's delete would load a million rows to cascade them.
            names: dict[str, Any] = {"names": tuple(n for n, _k, _c in RULES), "like": f"{PREFIX}%"}
            cursor.execute(DELETE_SQL.format(**tables), names)
        for name, kind, campaign in RULES:
            ListeningRule.objects.create(name=name, kind=kind, campaign=campaign, keywords=[name.split()[-1]])
        with connection.cursor() as cursor:
            cursor.execute(SEGMENTS_SQL.format(**tables), params)
            cursor.execute(POSTS_SQL.format(**tables), params)
            cursor.execute(MATCHES_SQL.format(**tables), params)
            matches = cursor.rowcount
        ListeningRule.objects.filter(name=MARKER).update(cursor={"bench_posts": count})
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables['post']}, {tables['match']}, {tables['customer']}")
    took = time.perf_counter() - started
    print(f"  {count:,} posts and {matches:,} rule matches in {took:.1f} s", flush=True)


def ensure_run(customers: int) -> ScoreRun:
    """A finished run of today with one snapshot per seeded customer (kept between runs)."""
    today = timezone.localdate()
    run = ScoreRun.objects.filter(trigger=TRIGGER, as_of=today, status=ScoreRun.Status.DONE).first()
    if run is not None and run.customers == customers:
        return run
    started = time.perf_counter()
    with transaction.atomic():
        ScoreSnapshot.objects.filter(as_of=today).delete()
        ScoreRun.objects.filter(trigger=TRIGGER).delete()
        run = ScoreRun.objects.create(
            as_of=today,
            status=ScoreRun.Status.DONE,
            trigger=TRIGGER,
            finished_at=timezone.now(),
            params={"segments": {"clv_threshold": 140.0, "crv_threshold": 25.0}},
        )
        with connection.cursor() as cursor:
            cursor.execute(
                SNAPSHOTS_SQL.format(**_tables()), {"run": run.pk, "as_of": today, "customers": customers}
            )
            run.customers = cursor.rowcount
        run.save(update_fields=["customers"])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_tables()['snapshot']}")
    print(f"  {run.customers:,} snapshots in {time.perf_counter() - started:.1f} s", flush=True)
    return run


def _marketer() -> Any:
    group = Group.objects.filter(name=MARKETING).first()
    if group is None:
        sync_roles()
        group = Group.objects.get(name=MARKETING)
    user, _created = get_user_model().objects.get_or_create(username=USER, defaults={"first_name": "Bench"})
    user.groups.add(group)
    return user


def _rollup_figures(posts: int) -> list[Figure]:
    started = time.perf_counter()
    rows = rollups_refresh(days=None)
    full = time.perf_counter() - started
    started = time.perf_counter()
    recent = rollups_refresh(days=2)
    refresh = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(PostRollup._meta.db_table)}")
    return [
        Figure(
            "rollups_full", "rollups: full rebuild", full * 1000, "ms",
            note=f"{rows:,} rollup rows from {posts:,} bench posts (and any other posts in the database)",
        ),
        Figure("rollups_2d", "rollups: refresh of the last 2 days", refresh * 1000, "ms",
               note=f"{recent:,} rows"),
    ]  # fmt: skip


def _query_counts(client: Client) -> list[Figure]:
    figures = []
    for key, label, params in PROBES:
        started = time.perf_counter()
        client.get(PAGE, params)  # the first request after a run fills the snapshot cache
        first = (time.perf_counter() - started) * 1000
        with CaptureQueriesContext(connection) as captured:
            response = client.get(PAGE, params)
        if response.status_code != 200:
            print(f"  {label}: HTTP {response.status_code}: {response.content[:300]!r}")
        sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        figures.append(
            Figure(
                f"queries_{key}",
                f"SQL per request: {label}",
                len(captured),
                "queries",
                note=f"{sql_ms:.1f} ms in SQL, {len(response.content):,} bytes; first request "
                f"(cold snapshot cache, in-process) {first:.0f} ms",
            )
        )
    return figures


def dashboard(ctx: Context) -> list[Figure]:
    quick = dataclasses.replace(ctx.sizes, customers=FULL.customers) != FULL
    count = POSTS_QUICK if quick else POSTS_FULL
    ensure_posts(count, ctx.sizes.customers)
    ensure_run(ctx.sizes.customers)
    figures = _rollup_figures(count)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(_marketer())
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    figures += _query_counts(client)
    for key, label, params in PROBES:
        figures += page_figures(ctx, PAGE, key, label, params, cookies)
    return figures
