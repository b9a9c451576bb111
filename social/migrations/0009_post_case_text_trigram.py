"""Inbox search: a trigram index on the text of the posts that belong to a case, so that
`?q=kettle` (UPPER(text) LIKE UPPER('%kettle%')) reads the matching posts instead of
every case's posts. Partial: posts without a case (most of them) cost ingestion nothing
more. PostgreSQL only, and only where pg_trgm can be created (customers 0004 creates it
too): without it the search still works, more slowly. SQLite (the demo) needs nothing."""

from django.db import migrations, transaction


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001 - no permission: keep working without the index
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS social_post_case_text_trgm ON social_post "
            "USING gin (UPPER(text) gin_trgm_ops) WHERE case_id IS NOT NULL"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS social_post_case_text_trgm")


class Migration(migrations.Migration):
    dependencies = [("social", "0008_inbox_open_queue_index"), ("customers", "0004_name_trigram_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
