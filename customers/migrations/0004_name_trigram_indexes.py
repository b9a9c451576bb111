"""Trigram indexes for name search (`icontains` becomes `UPPER(col) LIKE UPPER('%x%')`).

PostgreSQL only, and only where pg_trgm can be created: without it name search still works,
with a sequential scan. SQLite (the embedded demo) needs nothing.
"""

from django.db import migrations, transaction

COLUMNS = ("first_name", "last_name")


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001 - no permission: keep working without the indexes
        return
    with connection.cursor() as cursor:
        for column in COLUMNS:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS customer_{column}_trgm "
                f"ON customers_customer USING gin (UPPER({column}) gin_trgm_ops)"
            )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for column in COLUMNS:
            cursor.execute(f"DROP INDEX IF EXISTS customer_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_match_candidate")]

    operations = [migrations.RunPython(forwards, backwards)]
