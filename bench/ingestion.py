"""Social ingestion, end to end on PostgreSQL with a real Celery worker, next to its floor.

Data (deterministic): N posts as JSON lines in the api-contract shape (network, external_id,
author{external_id, handle, name, followers}, text, created_at, url, in_reply_to, metrics),
about 70 % English and 30 % French: real tweets of ../shared/data/sentiment (the VADER
paper's English tweets, the French UMSAB tweets) and the FakeProvider's templates, some
tagging @AcmeSupport, some naming the competitor Globex, some mentioning other authors,
15 % replies to an earlier post. 5,000 authors with a heavy-tailed activity: some are seeded
customers' own X accounts (already linked), some own a handle that bench customers
declared (adopted and linked on their first post), some bear the unique full name of a
seeded customer (the name rule of customers.linking may link them), the rest are strangers.
One brand rule (Acme, @AcmeSupport) and one competitor rule (Globex); the default flag
rules of migration social 0002.

- Floor, same run, same posts, one process: per post json.loads + nlp.detect_language +
  VADER polarity_scores with the lexicon of the detected language, and a COPY (psycopg2
  copy_expert) of the rows, one COPY and one commit per batch, into a staging table shaped
  like social_post (no index). The bare per-post work, nothing else.
- End to end: a real worker (`celery -A scrm worker --concurrency 1 --pool prefork -Q
  celery`) on the bench database and Redis db 14. The posts are pushed as InboundBatches
  (inbound_batch_receive, which enqueues social.ingest_inbound on commit), all at once;
  the figure is posts/s from the first enqueue to the last batch's commit, for one worker
  process. Latency is enqueue -> done per batch (with everything enqueued at once it is
  mostly the wait in the queue); service time is the gap between consecutive batches done
  (the worker takes one at a time). The worker is warmed up with one small batch first.
- Replay: the same batches again (inbound_batch_receive must answer "already received"),
  then the same posts in new batches (reversed order, so a new digest): every post must be
  a duplicate and no row may be added.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from customers.models import Customer, Network, SocialIdentity
from scrm.actors import Actor
from social import nlp
from social.models import Case, InboundBatch, ListeningRule, Post, PostRuleMatch, SocialEdge
from social.providers.fake import CITIES, PRODUCTS, TEMPLATES
from social.services import inbound_batch_receive, rule_create

from .context import FULL
from .report import Figure, percentile
from .seed import copy_cell

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sentiment"

SEED = 20261001
POSTS_FULL, POSTS_QUICK = 20_000, 3_000
BATCH = 500  # posts per InboundBatch (one task)
AUTHORS_FULL, AUTHORS_QUICK = 5_000, 1_000
# Shares of the authors: seeded customers' own X accounts (already linked), handles declared
# by bench customers (adopted on first post), the unique full name of a seeded customer (the
# name rule of linking): 300, 300 and 200 of the 5,000 authors.
SEEDED_SHARE, DECLARED_SHARE, NAMESAKE_SHARE = 0.06, 0.06, 0.04
BRAND, BRAND_HANDLE, COMPETITOR = "Acme", "AcmeSupport", "Globex"
START = datetime(2026, 10, 1, tzinfo=UTC)
SOURCE = Post.Source.API
FLOOR_TABLE = "bench_ingest_floor"
WORKER_NAME = "bench-ingest@%h"
WORKER_TIMEOUT = 900  # seconds to wait for every batch

DOC_FLOOR = "~2,300 posts/s per process (docs/performance.md); aim >= 0.5, target 0.7"

FIRST = (
    "Olivia", "James", "Amelia", "Harry", "Isla", "Jack", "Sophie", "Noah", "Grace", "Leo", "Emily",
    "Oscar", "Ava", "George", "Mia", "Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Manon",
    "Jules", "Inès", "Théo", "Sarah", "Nathan", "Emma", "Gabriel", "Jade",
)  # fmt: skip
LAST = (
    "Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Hughes", "Baxter", "Clarke", "Wright",
    "Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Roux", "Fournier", "Lambert",
    "Bonnet", "Mercier", "Faure", "Rousseau", "Blanc", "Guerin",
)  # fmt: skip


@dataclass(frozen=True)
class Author:
    network: str
    external_id: str
    handle: str
    name: str
    followers: int
    language: str
    kind: str  # seeded, declared, namesake, stranger

    def contract(self) -> dict[str, Any]:
        return {"external_id": self.external_id, "handle": self.handle, "name": self.name,
                "followers": self.followers}  # fmt: skip


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _load_texts() -> dict[str, list[str]]:
    with open(DATA / "tweets_GroundTruth.txt", encoding="utf-8", newline="") as f:
        english = [line.rstrip("\r\n").split("\t", 2)[2] for line in f]
    with open(DATA / "fr" / "umsab_french_tweets.csv", encoding="utf-8", newline="") as f:
        french = [row["text"] for row in csv.DictReader(f)]
    return {"en": english, "fr": french}


# --- the bench's own rows --------------------------------------------------------------


def _seed_identity_ceiling(customers: int) -> int:
    """The highest id of the seeded identities: everything above was added by a run."""
    top = SocialIdentity.objects.filter(
        customer_id__lte=customers, link_method=SocialIdentity.LinkMethod.DECLARED, external_id__isnull=False
    ).aggregate(top=Max("id"))["top"]
    return int(top or 0)


def reset(customers: int) -> None:
    """Empty the social tables and drop the identities and customers earlier runs added."""
    tables = [m._meta.db_table for m in (PostRuleMatch, SocialEdge, Post, Case, InboundBatch, ListeningRule)]
    ceiling = _seed_identity_ceiling(customers)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        SocialIdentity.objects.filter(pk__gt=ceiling).delete()
        SocialIdentity.objects.filter(customer_id__gt=customers).delete()
        Customer.objects.filter(pk__gt=customers).delete()
    # Identities linked by an earlier run to seeded customers were removed above.


def _rules() -> None:
    actor = Actor.system("bench")
    common = {"stream": ListeningRule.Stream.SEARCH, "account": None, "hashtags": [], "languages": []}
    rule_create(actor=actor, name="Acme", kind=ListeningRule.Kind.BRAND, keywords=[BRAND],
                handles=[BRAND_HANDLE], **common)  # fmt: skip
    rule_create(actor=actor, name="Globex", kind=ListeningRule.Kind.COMPETITOR, keywords=[COMPETITOR],
                handles=[], **common)  # fmt: skip


def _authors(rng: random.Random, count: int, customers: int) -> list[Author]:
    """The authors, shuffled; creates the bench customers who declared a handle."""
    authors: list[Author] = []
    seeded = list(
        SocialIdentity.objects.filter(
            network=Network.X, customer_id__lte=customers, external_id__isnull=False
        )
        .order_by("id")
        .values_list("external_id", "handle", "display_name", "followers_count")[:20_000]
    )
    picked = rng.sample(seeded, min(int(count * SEEDED_SHARE), len(seeded)))
    for external_id, handle, name, followers in picked:
        # Exactly as stored, so that ingesting them changes nothing in the seeded base.
        authors.append(Author(Network.X, str(external_id), handle, name, followers or 0,
                              "fr" if rng.random() < 0.3 else "en", "seeded"))  # fmt: skip

    namesakes = list(
        Customer.objects.filter(pk__lte=customers, social_identities__isnull=True)
        .values("first_name", "last_name")
        .annotate(n=Count("id"))
        .filter(n=1)
        .order_by("last_name", "first_name")
        .values_list("first_name", "last_name")[:5_000]
    )
    for first, last in rng.sample(namesakes, min(int(count * NAMESAKE_SHARE), len(namesakes))):
        authors.append(_stranger(rng, len(authors), first, last, "namesake"))

    declared_customers = []
    declared_authors = []
    for i in range(int(count * DECLARED_SHARE)):
        author = _stranger(rng, len(authors) + i, rng.choice(FIRST), rng.choice(LAST), "declared")
        declared_authors.append(author)
        first, last = author.name.split(" ", 1)
        declared_customers.append(Customer(first_name=first, last_name=last, locale="en-GB"))
    with transaction.atomic():
        created = Customer.objects.bulk_create(declared_customers)
        SocialIdentity.objects.bulk_create(
            SocialIdentity(
                customer=customer,
                network=author.network,
                handle=author.handle,
                handle_normalized=author.handle.lower(),
                display_name=author.name,
                link_method=SocialIdentity.LinkMethod.DECLARED,
                link_confidence=1.0,
                linked_at=timezone.now(),
            )
            for customer, author in zip(created, declared_authors, strict=True)
        )
    authors += declared_authors
    while len(authors) < count:
        authors.append(_stranger(rng, len(authors), rng.choice(FIRST), rng.choice(LAST), "stranger"))
    rng.shuffle(authors)
    return authors


def _stranger(rng: random.Random, index: int, first: str, last: str, kind: str) -> Author:
    network = Network.X if rng.random() < 0.85 else Network.FACEBOOK
    style = rng.random()
    if style < 0.4:
        handle = f"{_ascii(first)}_{_ascii(last)}{rng.randint(1, 99)}"
    elif style < 0.7:
        handle = f"{_ascii(first)}{_ascii(last)}"
    else:
        handle = f"{_ascii(first)[:1]}{_ascii(last)}_{rng.randint(1, 9999)}"
    handle = f"{handle[:14]}{index}"  # unique
    followers = int(60 * rng.paretovariate(1.1))
    if rng.random() < 0.004:  # a few influencers
        followers = rng.randint(15_000, 200_000)
    prefix = "10" if network == Network.X else "20"
    return Author(network, f"{prefix}{7_000_000 + index}", handle, f"{first} {last}", followers,
                  "fr" if rng.random() < 0.3 else "en", kind)  # fmt: skip


# --- the posts ------------------------------------------------------------------------


def _text(rng: random.Random, language: str, texts: dict[str, list[str]], network: str) -> str:
    if rng.random() < 0.55:
        text = rng.choice(texts[language])
        if rng.random() < 0.12:
            text = f"@{BRAND_HANDLE} {text}"
        elif rng.random() < 0.06:
            text = f"{text} #{BRAND.lower()}"
        return text
    kind = rng.choices(("complaint", "praise", "question", "neutral"), weights=(35, 30, 25, 10))[0]
    text = rng.choice(TEMPLATES[language][kind]).format(
        brand=COMPETITOR if rng.random() < 0.15 else BRAND,
        product=rng.choice(PRODUCTS[language]),
        city=rng.choice(CITIES[language]),
        days=rng.randint(3, 40),
        order=f"#{rng.randint(100000, 999999)}",
        mention=f"@{BRAND_HANDLE} " if network == Network.X and rng.random() < 0.6 else "",
    )
    return text[0].upper() + text[1:]


def make_posts(rng: random.Random, count: int, authors: Sequence[Author]) -> list[str]:
    """`count` posts as JSON lines (api-contract shape), oldest first."""
    texts = _load_texts()
    weights = [rng.paretovariate(1.2) for _ in authors]  # heavy tail: a few authors post a lot
    chosen = rng.choices(authors, weights=weights, k=count)
    step = timedelta(days=30) / count
    posts: list[dict[str, Any]] = []
    by_network: dict[str, list[int]] = {Network.X: [], Network.FACEBOOK: []}
    for i, author in enumerate(chosen):
        network = author.network
        created_at = START + step * i
        if network == Network.X:
            external_id = str(1_850_000_000_000_000_000 + i * 1000 + rng.randint(0, 999))
            url = f"https://x.com/{author.handle}/status/{external_id}"
        else:
            external_id = f"104729883214_{10_000_000_000 + i}"
            url = f"https://www.facebook.com/{external_id}"
        text = _text(rng, author.language, texts, network)
        if rng.random() < 0.08:  # mentions another author
            other = rng.choice(authors)
            text = f"{text} @{other.handle}"
        in_reply_to = None
        earlier = by_network[network]
        if earlier and rng.random() < 0.15:
            in_reply_to = posts[rng.choice(earlier[-3_000:])]["external_id"]
        likes = int(rng.paretovariate(1.5)) - 1 + author.followers // 2000
        if network == Network.X:
            metrics = {"like_count": likes, "retweet_count": likes // 4, "reply_count": rng.randint(0, 3),
                       "quote_count": likes // 20}  # fmt: skip
        else:
            metrics = {"reactions": likes, "comments": rng.randint(0, 3), "shares": likes // 5}
        by_network[network].append(i)
        posts.append({
            "network": network, "external_id": external_id, "author": author.contract(), "text": text,
            "created_at": created_at.isoformat().replace("+00:00", "Z"), "url": url,
            "in_reply_to": in_reply_to, "metrics": metrics,
        })  # fmt: skip
    return [json.dumps(post, ensure_ascii=False) for post in posts]


# --- the floor ------------------------------------------------------------------------


FLOOR_COLUMNS = (
    "id", "network", "external_id", "text", "language", "created_at", "url", "in_reply_to", "conversation",
    "references", "mentions", "likes", "replies", "reposts", "quotes", "metrics", "sentiment",
    "sentiment_label", "sentiment_model", "from_brand", "flagged", "flag_reasons", "source", "raw",
    "ingested_at",
)  # fmt: skip


def floor(lines: Sequence[str]) -> tuple[float, dict[str, float]]:
    """Posts/s of the bare per-post work on this process, and seconds per part."""
    nlp.preload()
    english, french = nlp._ENGLISH.get(), nlp._FRENCH.get()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (LIKE {Post._meta.db_table})")
    columns = ", ".join(connection.ops.quote_name(column) for column in FLOOR_COLUMNS)
    statement = f"COPY {FLOOR_TABLE} ({columns}) FROM STDIN"
    parts = {"json": 0.0, "language": 0.0, "sentiment": 0.0, "copy": 0.0}
    clock = time.perf_counter
    started = clock()
    pk = 0
    now = timezone.now().isoformat()
    for first in range(0, len(lines), BATCH):
        buffer = io.StringIO()
        for line in lines[first : first + BATCH]:
            t0 = clock()
            record = json.loads(line)
            t1 = clock()
            text = record["text"]
            language = nlp.detect_language(text)
            t2 = clock()
            analyzer = french if language == "fr" else english
            compound = analyzer.scorer.polarity_scores(text)["compound"]
            t3 = clock()
            metrics = record["metrics"]
            pk += 1
            row = (
                pk, record["network"], record["external_id"], text, language or "", record["created_at"],
                record["url"], record["in_reply_to"] or "", record["in_reply_to"] or record["external_id"],
                [], [], metrics.get("like_count", 0), metrics.get("reply_count", 0),
                metrics.get("retweet_count", 0), metrics.get("quote_count", 0), metrics, compound,
                nlp.label_for(compound), analyzer.model, False, False, [], SOURCE, record, now,
            )  # fmt: skip
            buffer.write("\t".join(map(copy_cell, row)))
            buffer.write("\n")
            parts["json"] += t1 - t0
            parts["language"] += t2 - t1
            parts["sentiment"] += t3 - t2
        t4 = clock()
        buffer.seek(0)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(statement, buffer)
        parts["copy"] += clock() - t4
    rate = len(lines) / (clock() - started)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {FLOOR_TABLE}")  # noqa: S608 (a constant)
        assert cursor.fetchone()[0] == len(lines)
        cursor.execute(f"DROP TABLE {FLOOR_TABLE}")
    return rate, parts


# --- the worker -----------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found.append(int(entry))
    return found + [grand for child in found for grand in _descendants(child)]


def _peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of the process, in MB; NaN when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Worker:
    """`celery -A scrm worker --concurrency 1 --pool prefork -Q celery` on this environment."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.log = open(ROOT / "var" / "bench-ingest-worker.log", "wb")  # noqa: SIM115

    def __enter__(self) -> Worker:
        from scrm.celery import app

        app.control.purge()  # Redis db 14: whatever earlier runs left in the queue
        env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "scrm", "worker", "--concurrency", "1", "--pool",
             "prefork", "-Q", "celery", "-n", WORKER_NAME, "--loglevel", "WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return self

    def peak_rss_mb(self) -> tuple[float, float]:
        """Peak RSS of the pool process (the one that runs the tasks) and of the parent."""
        assert self.process is not None
        children = _descendants(self.process.pid)
        child = max((_peak_rss_mb(pid) for pid in children), default=float("nan"))
        return child, _peak_rss_mb(self.process.pid)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _sessions() -> int:
    """Connections ever opened to this database (PostgreSQL >= 14)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def _wait(batch_ids: Sequence[str], timeout: float) -> dict[str, InboundBatch]:
    deadline = time.monotonic() + timeout
    pending = set(batch_ids)
    while pending and time.monotonic() < deadline:
        time.sleep(0.1)
        finished = InboundBatch.objects.filter(pk__in=pending).exclude(status=InboundBatch.Status.QUEUED)
        pending -= {str(pk) for pk in finished.values_list("pk", flat=True)}
    if pending:
        raise SystemExit(
            f"{len(pending)} batches not ingested after {timeout:.0f} s: see var/bench-ingest-worker.log"
        )
    batches = {str(b.pk): b for b in InboundBatch.objects.filter(pk__in=batch_ids)}
    failed = [b for b in batches.values() if b.status != InboundBatch.Status.DONE]
    if failed:
        raise SystemExit(f"{len(failed)} batches failed, e.g. {failed[0].error[:500]}")
    return batches


def _push(items_per_batch: Sequence[list[dict[str, Any]]]) -> tuple[list[str], list[datetime], int]:
    """inbound_batch_receive each batch; the ids, enqueue times and how many were new."""
    ids, times, created_count = [], [], 0
    for items in items_per_batch:
        times.append(timezone.now())
        batch, created = inbound_batch_receive(source=SOURCE, items=items)
        ids.append(str(batch.pk))
        created_count += created
    return ids, times, created_count


def _totals(batches: Sequence[InboundBatch]) -> dict[str, int]:
    keys = ("new", "duplicates", "linked", "flagged", "cases_opened", "cases_updated", "edges",
            "identities_new")  # fmt: skip
    totals = dict.fromkeys(keys, 0)
    totals["rejected"] = 0
    for batch in batches:
        for key in keys:
            totals[key] += int(batch.summary.get(key, 0))
        totals["rejected"] += len(batch.summary.get("rejected", []))
    return totals


def _rows() -> dict[str, int]:
    return {
        "posts": Post.objects.count(),
        "edges": SocialEdge.objects.count(),
        "cases": Case.objects.count(),
        "matches": PostRuleMatch.objects.count(),
        "linked identities": SocialIdentity.objects.filter(posts__isnull=False, customer__isnull=False)
        .distinct()
        .count(),
    }


def end_to_end(lines: Sequence[str], warmup: Sequence[str]) -> dict[str, Any]:
    items = [json.loads(line) for line in lines]
    batches = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
    result: dict[str, Any] = {"batches": len(batches)}
    with Worker() as worker:
        # One small batch of other posts: the worker has started and loaded its models.
        warm_ids, _, _ = _push([[json.loads(line) for line in warmup]])
        _wait(warm_ids, timeout=180)
        before_rows = _rows()
        sessions = _sessions()
        ids, enqueued, _ = _push(batches)
        pushed_at = timezone.now()
        done = _wait(ids, timeout=WORKER_TIMEOUT)
        result["sessions"] = _sessions() - sessions
        ordered = [done[pk] for pk in ids]
        finished = sorted(b.processed_at for b in ordered if b.processed_at)
        result["seconds"] = (finished[-1] - enqueued[0]).total_seconds()
        result["push_seconds"] = (pushed_at - enqueued[0]).total_seconds()
        result["latencies"] = [
            (b.processed_at - at).total_seconds()
            for b, at in zip(ordered, enqueued, strict=True)
            if b.processed_at
        ]
        result["service"] = [(b - a).total_seconds() for a, b in itertools.pairwise(finished)]
        result["totals"] = _totals(ordered)
        after_rows = _rows()
        result["rows"] = {k: after_rows[k] - before_rows[k] for k in after_rows}

        # Replays: the same deliveries, then the same posts in new batches.
        _ids, _times, again = _push(batches)
        result["replay_batches_new"] = again
        reversed_batches = [list(reversed(b)) for b in batches]
        replay_ids, replay_times, _ = _push(reversed_batches)
        replayed = _wait(replay_ids, timeout=WORKER_TIMEOUT)
        replay_done = max(b.processed_at for b in replayed.values() if b.processed_at)
        result["replay_seconds"] = (replay_done - replay_times[0]).total_seconds()
        result["replay_totals"] = _totals(list(replayed.values()))
        result["replay_rows"] = {k: v - after_rows[k] for k, v in _rows().items()}
        result["rss_child"], result["rss_parent"] = worker.peak_rss_mb()
    return result


# --- the benchmark --------------------------------------------------------------------


def ingestion(ctx: Any) -> list[Figure]:
    # --quick: smaller sizes (whatever --customers says).
    quick = dataclasses.replace(ctx.sizes, customers=FULL.customers) != FULL
    count = POSTS_QUICK if quick else POSTS_FULL
    customers = ctx.sizes.customers
    rng = random.Random(SEED)
    print(f"  resetting the social tables; {count:,} posts, batches of {BATCH}...", flush=True)
    reset(customers)
    _rules()
    authors = _authors(rng, AUTHORS_QUICK if quick else AUTHORS_FULL, customers)
    lines = make_posts(rng, count, authors)
    warmup = [
        json.dumps({**json.loads(line), "external_id": f"warmup-{i}", "in_reply_to": None})
        for i, line in enumerate(make_posts(random.Random(SEED + 1), 50, authors[:50]))
    ]
    gc.freeze()  # the loaded posts stay alive: keep the collector from rescanning them
    size = sum(len(line.encode()) for line in lines) / len(lines)
    print("  floor (parse + language + VADER + COPY, one process)...", flush=True)
    floor_rate, parts = floor(lines)
    print(f"  end to end (a Celery worker, {len(lines) // BATCH} batches)...", flush=True)
    conn_max_age = settings.DATABASES["default"].get("CONN_MAX_AGE")
    try:
        e2e = end_to_end(lines, warmup)
    finally:
        gc.unfreeze()
        # Posts and cases hold their authors (PROTECT), among them the bench customers'
        # identities, which the next run's seed.remove_benchmark_rows deletes: leave nothing.
        reset(customers)

    totals, rows = e2e["totals"], e2e["rows"]
    rate = count / e2e["seconds"]
    kinds = {kind: sum(1 for a in authors if a.kind == kind) for kind in ("seeded", "declared", "namesake")}
    parts_note = ", ".join(f"{name} {seconds / count * 1e6:.0f} µs" for name, seconds in parts.items())
    head = f"ingestion e2e ({count:,} posts, {BATCH}/batch, 1 worker process)"
    replay, replay_rows = e2e["replay_totals"], e2e["replay_rows"]
    idempotent = replay["new"] == 0 and not any(replay_rows.values())
    return [
        Figure(
            "floor_ingest",
            "floor: json.loads + detect_language + VADER + COPY, one process",
            floor_rate,
            "posts/s",
            note=f"{DOC_FLOOR}; per post: {parts_note}; {size:,.0f} bytes of JSON per post",
        ),
        Figure(
            "ingest_rate",
            f"{head}: first enqueue -> last commit",
            rate,
            "posts/s",
            "floor_ingest",
            note=(
                f"{e2e['batches']} InboundBatches via inbound_batch_receive, all enqueued in "
                f"{e2e['push_seconds']:.1f} s, done in {e2e['seconds']:.1f} s; ratio target 0.7, at least 0.5"
            ),
        ),
        Figure(
            "ingest_latency_p50",
            f"{head}: batch enqueue -> done p50",
            percentile(e2e["latencies"], 0.5) * 1000,
            "ms",
            note="everything is enqueued at once: mostly the wait in the queue",
        ),
        Figure(
            "ingest_latency_p95",
            f"{head}: batch enqueue -> done p95",
            percentile(e2e["latencies"], 0.95) * 1000,
            "ms",
        ),
        Figure(
            "ingest_service_p50",
            f"{head}: one batch's service time p50",
            percentile(e2e["service"], 0.5) * 1000,
            "ms",
            note="gap between consecutive batches done (the worker takes one at a time)",
        ),
        Figure(
            "ingest_service_p95",
            f"{head}: one batch's service time p95",
            percentile(e2e["service"], 0.95) * 1000,
            "ms",
        ),
        Figure(
            "ingest_rss",
            f"{head}: worker pool process peak RSS",
            e2e["rss_child"],
            "MB",
            note=f"the worker's parent process: {e2e['rss_parent']:,.0f} MB",
        ),
        Figure(
            "ingest_sessions",
            f"{head}: DB connections opened during the run",
            e2e["sessions"],
            "connections",
            note=f"CONN_MAX_AGE={conn_max_age}; {e2e['batches']} tasks; 0: the worker kept its connection",
        ),
        Figure(
            "ingest_new",
            f"{head}: new posts",
            totals["new"],
            "posts",
            note=f"rows added: {', '.join(f'{v:,} {k}' for k, v in rows.items())}",
        ),
        Figure("ingest_duplicates", f"{head}: duplicates", totals["duplicates"], "posts"),
        Figure("ingest_rejected", f"{head}: rejected", totals["rejected"], "posts"),
        Figure("ingest_identities", f"{head}: identities created", totals["identities_new"], "identities"),
        Figure(
            "ingest_linked",
            f"{head}: new posts whose author is linked to a customer",
            totals["linked"],
            "posts",
            note=(
                f"authors: {kinds['seeded']} seeded customers' accounts, "
                f"{kinds['declared']} declared handles, "
                f"{kinds['namesake']} namesakes of one customer, the rest strangers"
            ),
        ),
        Figure("ingest_flagged", f"{head}: flagged", totals["flagged"], "posts"),
        Figure(
            "ingest_cases",
            f"{head}: cases opened",
            totals["cases_opened"],
            "cases",
            note=f"cases updated: {totals['cases_updated']}",
        ),
        Figure("ingest_edges", f"{head}: edges (rows upserted)", totals["edges"], "edges"),
        Figure(
            "ingest_replay_batches",
            "replay: the same deliveries again, batches queued again",
            e2e["replay_batches_new"],
            "batches",
            note="inbound_batch_receive answers the first batch: 0 expected",
        ),
        Figure(
            "ingest_replay_new",
            f"replay: the same {count:,} posts in new batches, new posts",
            replay["new"],
            "posts",
            note=(
                f"{replay['duplicates']:,} duplicates, rows added: "
                f"{', '.join(f'{v:,} {k}' for k, v in replay_rows.items())}; "
                f"{'IDEMPOTENT' if idempotent else 'NOT IDEMPOTENT'}"
            ),
        ),
        Figure(
            "ingest_replay_rate",
            "replay: all duplicates, end to end",
            count / e2e["replay_seconds"],
            "posts/s",
            "floor_ingest",
        ),
    ]
