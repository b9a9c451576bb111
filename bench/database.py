"""The benchmark's own PostgreSQL database (`scrm_bench`), never the dev or the test one.

`configure_environment()` must run before Django reads its settings: the test settings
take DATABASE_URL and REDIS_URL from the environment.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/scrm_bench"
# Redis db 15 belongs to the test suite; the benchmark's throttling counters live apart.
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"


def configure_environment() -> dict[str, str]:
    """Point Django at the bench database and cache; return the environment for servers."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.test")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", BENCH_DATABASE_URL)
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", BENCH_REDIS_URL)
    os.environ["DEBUG"] = "0"
    # Tasks a request enqueues (resolution after an API upsert) belong to a worker, not to
    # the request being measured: queue them instead of running them in-process.
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    keys = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DEBUG", "CELERY_TASK_ALWAYS_EAGER")
    return {key: os.environ[key] for key in keys}


def ensure_database() -> str:
    """Create the bench database if it is missing (on the `postgres` maintenance db)."""
    import psycopg2
    from psycopg2 import sql

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"The benchmark only runs against a local PostgreSQL, not {url.hostname}.")
    connection = psycopg2.connect(
        dbname="postgres",
        host=url.hostname,
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"Created database {name}.")
    finally:
        connection.close()
    return name


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
