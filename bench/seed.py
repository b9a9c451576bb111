"""The seeded customer base: N customers loaded with COPY, kept between runs.

Customer n (0-based) has id n + 1, an e-mail, a verified phone, the external id
`seed:C<n>`, some social identities (40% on X, 15% also on Instagram) and 0-4 purchases.
Everything the benchmarks add lives on customers with an id above N and is removed at the
start of the next run, so every run measures the same database.
"""

from __future__ import annotations

import io
import json
import random
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from faker import Faker

from customers.models import ContactPoint, Customer, ExternalId, Network, Purchase, SocialIdentity
from scrm.models import ApiKey, AuditEntry, IdempotencyRecord

SEED_SOURCE = "seed"
SEED = 20240601


@dataclass(frozen=True)
class SeededCustomer:
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str  # E.164
    external_id: str
    handle: str | None


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def seed_phone(n: int) -> str:
    """A valid French mobile number, unique per seeded customer."""
    return f"+336{10_000_000 + n:08d}"


def national_phone(e164: str) -> str:
    """`+33610001234` -> `06 10 00 12 34`, the way a person types it in a search box."""
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


# --- COPY -------------------------------------------------------------------------------


def copy_cell(value: Any) -> str:
    """One value in PostgreSQL COPY's text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    elif isinstance(value, datetime | date):
        return value.isoformat()
    elif isinstance(value, int | float | Decimal):
        return str(value)
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rows(model: type[models.Model], rows: Iterable[dict[str, Any]], *, with_ids: bool = False) -> int:
    """COPY rows (dicts by attname) into the model's table; missing fields get their default."""
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if with_ids or not f.primary_key]
    defaults = {
        f.attname: now
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else f.get_default()
        for f in fields
    }
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    buffer = io.StringIO()
    total = 0
    for row in rows:
        buffer.write("\t".join(copy_cell(row.get(f.attname, defaults[f.attname])) for f in fields))
        buffer.write("\n")
        total += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(statement, buffer)
    return total


# --- the customer base ------------------------------------------------------------------


def _name_pools(rng: random.Random) -> tuple[list[str], list[str]]:
    firsts: set[str] = set()
    lasts: set[str] = set()
    for locale in ("fr_FR", "en_GB"):
        faker = Faker(locale)
        faker.seed_instance(rng.randint(0, 10**9))
        firsts.update(faker.first_name() for _ in range(400))
        lasts.update(faker.last_name() for _ in range(800))
    return sorted(firsts), sorted(lasts)


def _generate(
    start: int, stop: int, rng: random.Random, names: tuple[list[str], list[str]]
) -> dict[type[models.Model], list[dict[str, Any]]]:
    """Rows of every table for seeded customers start..stop-1."""
    firsts, lasts = names
    now = timezone.now().replace(microsecond=0)
    tables: dict[type[models.Model], list[dict[str, Any]]] = {
        Customer: [],
        ContactPoint: [],
        ExternalId: [],
        SocialIdentity: [],
        Purchase: [],
    }
    for n in range(start, stop):
        customer_id = n + 1
        first, last = rng.choice(firsts), rng.choice(lasts)
        locale = "fr-FR" if rng.random() < 0.6 else "en-GB"
        created_at = now - timedelta(days=rng.randint(1, 3 * 365), seconds=rng.randint(0, 86_399))
        tables[Customer].append(
            {
                "id": customer_id,
                "first_name": first,
                "last_name": last,
                "locale": locale,
                "date_of_birth": date(1950, 1, 1) + timedelta(days=rng.randint(0, 20_000)),
                "consent_data_processing": True,
                "consent_data_processing_at": created_at,
                "created_at": created_at,
                "updated_at": created_at,
            }
        )
        slug = f"{ascii_slug(first)}.{ascii_slug(last)}"
        email = f"{slug}.{n}@example.com"
        for kind, value in ((ContactPoint.Kind.EMAIL, email), (ContactPoint.Kind.PHONE, seed_phone(n))):
            tables[ContactPoint].append(
                {
                    "customer_id": customer_id,
                    "kind": kind,
                    "value": value,
                    "raw": value,
                    "verified": True,
                    "is_primary": True,
                    "source": SEED_SOURCE,
                    "created_at": created_at,
                }
            )
        tables[ExternalId].append(
            {"customer_id": customer_id, "source": SEED_SOURCE, "value": f"C{n}", "created_at": created_at}
        )
        if rng.random() < 0.4:
            networks = [Network.X, Network.INSTAGRAM] if rng.random() < 0.375 else [Network.X]
            handle = f"{slug.replace('.', '_')}{n}"[:100]
            for network in networks:
                tables[SocialIdentity].append(
                    {
                        "customer_id": customer_id,
                        "network": network,
                        "external_id": f"{n}",
                        "handle": handle,
                        "handle_normalized": handle.lower(),
                        "display_name": f"{first} {last}",
                        "followers_count": int(rng.paretovariate(1.2) * 40),
                        "link_method": SocialIdentity.LinkMethod.DECLARED,
                        "link_confidence": 1.0,
                        "linked_at": created_at,
                        "created_at": created_at,
                    }
                )
        for k in range(rng.choice((0, 0, 1, 1, 2, 2, 3, 3, 4, 4))):
            amount = Decimal(str(round(rng.lognormvariate(3.6, 0.7), 2)))
            tables[Purchase].append(
                {
                    "customer_id": customer_id,
                    "source": SEED_SOURCE,
                    "external_id": f"O{n}-{k}",
                    "amount": amount,
                    "margin": (amount * Decimal("0.3")).quantize(Decimal("0.01")),
                    "purchased_at": created_at + timedelta(days=rng.randint(0, 30)),
                    "channel": rng.choice(("web", "store", "app")),
                }
            )
    return tables


def seeded_count() -> int:
    return ExternalId.objects.filter(source=SEED_SOURCE).count()


def _truncate() -> None:
    tables = [
        m._meta.db_table
        for m in (
            Customer,
            ContactPoint,
            ExternalId,
            SocialIdentity,
            Purchase,
            AuditEntry,
            IdempotencyRecord,
            ApiKey,
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def seed(count: int) -> dict[str, int]:
    """Replace the customer base with `count` seeded customers. Returns rows per table."""
    rng = random.Random(SEED)
    names = _name_pools(rng)
    loaded: dict[str, int] = {}
    with transaction.atomic():
        _truncate()
        # Slices keep memory flat: the rows of 10,000 customers at a time.
        for start in range(0, count, 10_000):
            for model, rows in _generate(start, min(start + 10_000, count), rng, names).items():
                name = str(model._meta.verbose_name_plural)
                loaded[name] = loaded.get(name, 0) + copy_rows(model, rows, with_ids=model is Customer)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Customer._meta.db_table, count]
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return loaded


def ensure_seeded(count: int, *, reseed: bool) -> None:
    """Seed unless the database already holds exactly `count` seeded customers; then only
    remove what earlier runs added."""
    have = seeded_count()
    if have == count and not reseed:
        remove_benchmark_rows(count)
        print(f"Bench database already seeded with {count:,} customers (use --reseed to reload).")
        return
    print(f"Seeding {count:,} customers (the database had {have:,})...", flush=True)
    started = time.perf_counter()
    loaded = seed(count)
    took = time.perf_counter() - started
    rows = sum(loaded.values())
    print(f"  {', '.join(f'{v:,} {k}' for k, v in loaded.items())}")
    print(f"  {rows:,} rows in {took:.1f} s ({rows / took:,.0f} rows/s, generation included)")


def remove_benchmark_rows(count: int) -> None:
    """Drop what previous runs added: customers above the seed, audit, keys, idempotency."""
    with transaction.atomic():
        SocialIdentity.objects.filter(customer_id__gt=count).delete()
        Customer.objects.filter(pk__gt=count).delete()
        AuditEntry.objects.all().delete()
        IdempotencyRecord.objects.all().delete()
        ApiKey.objects.all().delete()


def sample(count: int, size: int, rng: random.Random) -> list[SeededCustomer]:
    """`size` distinct seeded customers, at random, with the keys a partner would send."""
    ids = rng.sample(range(1, count + 1), min(size, count))
    customers = Customer.objects.filter(pk__in=ids).prefetch_related(
        "contact_points", "external_ids", "social_identities"
    )
    found = []
    for customer in customers:
        points = {p.kind: p.value for p in customer.contact_points.all()}
        identities = list(customer.social_identities.all())
        found.append(
            SeededCustomer(
                id=customer.pk,
                first_name=customer.first_name,
                last_name=customer.last_name,
                email=points[ContactPoint.Kind.EMAIL],
                phone=points[ContactPoint.Kind.PHONE],
                external_id=next(e.value for e in customer.external_ids.all() if e.source == SEED_SOURCE),
                handle=identities[0].handle if identities else None,
            )
        )
    rng.shuffle(found)
    return found
