"""The agent inbox (`/social/inbox/`) on gunicorn, at 100,000 cases, next to the HTTP floor.

Data (deterministic, kept between runs): N cases written by INSERT ... SELECT
generate_series, each with one post (its first post, which the inbox row shows). About 3 %
new, 5 % open, 22 % waiting for the customer, 70 % resolved; priorities 0-100 skewed low
(about one case in five is high); opened over the last 90 days (new and open ones in the
last 3 days, pending ones in the last 30), due times from the SLA targets of their band,
so a good part of the unresolved cases are overdue. 95 % are written by a seeded
customer's X or Instagram identity, the rest by an unknown author on another network.
Most cases are assigned to one of four bench agents (new ones mostly not). The posts are
short complaints about the FakeProvider's products: about one in ten names the Kettle 2.

Measured, logged in as bench agent 1 (a user in the "agent" group, session cookie of a
test Client login): the default queue (all open), ?queue=unassigned and ?q=kettle, with
the same client threads as the other page benchmarks. The SQL each request runs is
counted in-process (test Client) first.

Ingestion's reset truncates the social tables: the cases are seeded again on the next run
(a count of the bench's conversations says whether they are there).
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from customers.models import SocialIdentity
from scrm.roles import AGENT, sync_roles
from social.cases import HIGH, NORMAL, sla_targets
from social.models import Case, Post
from social.providers.fake import PRODUCTS

from . import ingestion
from .context import FULL, Context
from .load import page_figures
from .report import Figure

CASES_FULL, CASES_QUICK = 100_000, 5_000
PREFIX = "bench-inbox-"  # conversation of every seeded case, external id of its post
AGENTS = 4
AGENT_PREFIX = "bench-agent-"
SEED = 0.20261101  # setseed(): the same cases every time
INBOX = "/social/inbox/"
PROBES: list[tuple[str, str, dict[str, str]]] = [
    ("inbox_open", "inbox, default queue (all open)", {}),
    ("inbox_unassigned", "inbox ?queue=unassigned", {"queue": "unassigned"}),
    ("inbox_search", "inbox ?q=kettle", {"q": "kettle"}),
]

TEMPLATES = (
    "My {product} stopped working after {n} days. @AcmeSupport can you help?",
    "Still waiting for a refund on my {product}, order {n}. Not impressed.",
    "@AcmeSupport the {product} I bought in {city} leaks, what now?",
    "Third time I contact you about the {product}. Nobody answers. #fail",
    "Is there a recall on the {product}? Mine smells of burnt plastic.",
    "Delivery of my {product} is {n} days late, tracking says nothing.",
    "Mon {product} ne marche plus depuis {n} jours, @AcmeSupport une solution ?",
    "Toujours pas de remboursement pour le {product}, commande {n}.",
)
CITIES = ("London", "Manchester", "Leeds", "Dublin", "Lyon", "Paris", "Lille")


def _texts(rng: random.Random, count: int = 240) -> list[str]:
    products = sorted(set(PRODUCTS["en"]) | set(PRODUCTS["fr"]))
    return [
        rng.choice(TEMPLATES).format(
            product=rng.choice(products), n=rng.randint(2, 9999), city=rng.choice(CITIES)
        )
        for _ in range(count)
    ]


def _agents() -> list[Any]:
    """The four bench agents, in the "agent" group (created once, kept)."""
    group = Group.objects.filter(name=AGENT).first()
    if group is None:
        sync_roles()
        group = Group.objects.get(name=AGENT)
    agents = []
    for n in range(1, AGENTS + 1):
        user, _created = get_user_model().objects.get_or_create(
            username=f"{AGENT_PREFIX}{n}", defaults={"first_name": f"Agent {n}", "is_active": True}
        )
        user.groups.add(group)
        agents.append(user)
    return agents


def _seeded() -> int:
    return Case.objects.filter(conversation__startswith=PREFIX).count()


CASES_SQL = """
CREATE TEMP TABLE bench_inbox_authors ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) AS n, id, network
    FROM {identity} WHERE customer_id <= %(customers)s AND network IN ('x', 'instagram');
SELECT setseed(%(seed)s);
INSERT INTO {case} (network, conversation, author_id, status, priority, priority_reasons, reasons,
                    assignee_id, post_count, opened_at, last_post_at, first_response_at, resolved_at,
                    first_response_due_at, resolution_due_at)
WITH draws AS MATERIALIZED (
    SELECT i, random() AS s, random() AS p, random() AS t, random() AS a, random() AS b,
           random() AS r, random() AS k, random() AS u
    FROM generate_series(1, %(count)s) AS i
), shaped AS MATERIALIZED (
    SELECT d.*,
           CASE WHEN s < 0.03 THEN 'new' WHEN s < 0.08 THEN 'open'
                WHEN s < 0.30 THEN 'pending' ELSE 'resolved' END AS status,
           LEAST(100, floor(power(p, 1.8) * 101))::int AS priority,
           (SELECT count(*) FROM bench_inbox_authors) AS authors
    FROM draws d
), timed AS MATERIALIZED (
    SELECT s.*,
           now() - make_interval(secs => t * 86400 * CASE status WHEN 'resolved' THEN 90
                                                            WHEN 'pending' THEN 30 ELSE 3 END) AS opened_at,
           CASE WHEN priority >= %(high)s THEN 'high' WHEN priority >= %(normal)s THEN 'normal'
                ELSE 'low' END AS band
    FROM shaped s
)
SELECT COALESCE(au.network, (ARRAY['facebook', 'youtube', 'linkedin', 'tiktok'])[1 + (i %% 4)]),
       %(prefix)s || i,
       au.id,
       status,
       priority,
       CASE WHEN priority >= %(high)s THEN '["negative", "followers"]'::jsonb
            WHEN priority >= %(normal)s THEN '["negative"]'::jsonb ELSE '[]'::jsonb END,
       CASE WHEN k < 0.6 THEN '["brand mention"]'::jsonb
            WHEN k < 0.9 THEN '["brand mention", "complaint"]'::jsonb ELSE '["question"]'::jsonb END,
       CASE WHEN a < CASE status WHEN 'new' THEN 0.1 WHEN 'resolved' THEN 0.9 ELSE 0.7 END
            THEN (%(agents)s::int[])[1 + floor(b * %(agent_count)s)::int] END,
       1 + floor(k * k * 5)::int,
       opened_at,
       opened_at + make_interval(mins => floor(k * k * 600)::int),
       CASE WHEN status <> 'new' THEN opened_at + make_interval(mins => 5 + floor(r * 180)::int) END,
       CASE WHEN status = 'resolved' THEN opened_at + make_interval(mins => 200 + floor(r * 2880)::int) END,
       opened_at + make_interval(mins => CASE band WHEN 'high' THEN %(high_first)s
                                                   WHEN 'normal' THEN %(normal_first)s
                                                   ELSE %(low_first)s END),
       opened_at + make_interval(mins => CASE band WHEN 'high' THEN %(high_resolution)s
                                                   WHEN 'normal' THEN %(normal_resolution)s
                                                   ELSE %(low_resolution)s END)
FROM timed
LEFT JOIN bench_inbox_authors au ON u < 0.95 AND au.n = 1 + (i * 7919) %% authors
ORDER BY i;
"""

POSTS_SQL = """
INSERT INTO {post} (network, external_id, author_id, text, language, created_at, url, in_reply_to,
                    conversation, "references", mentions, likes, replies, reposts, quotes, metrics,
                    sentiment, sentiment_label, sentiment_model, from_brand, flagged, flag_reasons,
                    case_id, source, raw, ingested_at)
SELECT c.network, c.conversation, c.author_id, t.text,
       CASE WHEN t.text LIKE 'Mon %%' OR t.text LIKE 'Toujours %%' THEN 'fr' ELSE 'en' END,
       c.opened_at, '', '', c.conversation, '[]'::jsonb, '["acmesupport"]'::jsonb,
       c.id %% 7, 0, c.id %% 3, 0, '{{}}'::jsonb,
       -0.2 - (c.id %% 70) / 100.0, 'negative', 'bench', false, true, c.reasons,
       c.id, 'api', '{{}}'::jsonb, c.opened_at
FROM {case} c
JOIN unnest(%(texts)s::text[]) WITH ORDINALITY AS t(text, n) ON t.n = 1 + (c.id * 31) %% %(text_count)s
WHERE c.conversation LIKE %(like)s;
"""


def ensure_cases(count: int, customers: int, agents: list[Any]) -> None:
    """Seed `count` bench cases (and their first posts) unless exactly that many are there."""
    have = _seeded()
    if have == count:
        print(f"  {count:,} bench cases already there.", flush=True)
        return
    print(f"  seeding {count:,} cases and their posts (the database had {have:,})...", flush=True)
    started = time.perf_counter()
    ingestion.reset(customers)  # the social tables, as ingestion leaves them: empty
    targets = sla_targets()
    texts = _texts(random.Random(20261101))
    names = {"identity": SocialIdentity, "case": Case, "post": Post}
    tables = {key: connection.ops.quote_name(model._meta.db_table) for key, model in names.items()}
    params = {
        "customers": customers,
        "seed": SEED,
        "count": count,
        "high": HIGH,
        "normal": NORMAL,
        "prefix": PREFIX,
        "agents": [a.pk for a in agents],
        "agent_count": len(agents),
        **{f"{band}_first": first for band, (first, _r) in targets.items()},
        **{f"{band}_resolution": resolution for band, (_f, resolution) in targets.items()},
        "texts": texts,
        "text_count": len(texts),
        "like": f"{PREFIX}%",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CASES_SQL.format(**tables), params)
        cursor.execute(POSTS_SQL.format(**tables), params)
        posts = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables['case']}, {tables['post']}")
    took = time.perf_counter() - started
    print(f"  {_seeded():,} cases and {posts:,} posts in {took:.1f} s", flush=True)


def _query_counts(client: Client, cases: int) -> list[Figure]:
    """SQL per request, in-process, steady state (one request first warms the caches)."""
    client.get(INBOX)
    figures = []
    for key, label, params in PROBES:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(INBOX, params)
        rows = response.content.count(b'class="case-row')
        if response.status_code != 200 or not rows:
            print(f"  {label}: HTTP {response.status_code}, {rows} rows: {response.content[:300]!r}")
        sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        figures.append(
            Figure(
                f"queries_{key}",
                f"SQL per request: {label}",
                len(captured),
                "queries",
                note=f"{sql_ms:.1f} ms in SQL, {len(response.content):,} bytes, {rows} rows, {cases:,} cases",
            )
        )
    return figures


def inbox(ctx: Context) -> list[Figure]:
    quick = dataclasses.replace(ctx.sizes, customers=FULL.customers) != FULL
    count = CASES_QUICK if quick else CASES_FULL
    agents = _agents()
    ensure_cases(count, ctx.sizes.customers, agents)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(agents[0])
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    figures = _query_counts(client, count)
    for key, label, params in PROBES:
        figures += page_figures(ctx, INBOX, key, label, params, cookies)
    return figures
