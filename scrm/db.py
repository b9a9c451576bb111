"""Bulk writes the ORM cannot express: insert-if-absent that says which rows were new,
and counters that add up on conflict. Plain SQL that PostgreSQL and SQLite (>= 3.35)
both run, with values prepared by the model fields themselves."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models

# Stay under SQLite's bound-parameter limit (32,766) and keep statements a sane size.
_MAX_PARAMS = 30_000


def _columns(model: type[models.Model], names: Sequence[str]) -> list[models.Field[Any, Any]]:
    return [model._meta.get_field(name) for name in names]  # type: ignore[misc]


def _column(model: type[models.Model], name: str) -> str:
    return str(_columns(model, [name])[0].column)


def _chunks(rows: Sequence[Mapping[str, Any]], width: int) -> list[Sequence[Mapping[str, Any]]]:
    size = max(1, _MAX_PARAMS // max(width, 1))
    return [rows[start : start + size] for start in range(0, len(rows), size)]


# Plain fields whose get_db_prep_save returns a value of this exact type unchanged (and
# None as None): skipping the call saves ~10 us per value, a third of building the
# statement for a batch of posts. Exact classes only: a subclass may prepare differently.
_PLAIN: dict[type[models.Field[Any, Any]], type] = {
    models.CharField: str,
    models.TextField: str,
    models.URLField: str,
    models.SlugField: str,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.FloatField: float,
    models.BooleanField: bool,
}


def _values(
    fields: Sequence[models.Field[Any, Any]], names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[Any]]:
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = [
        (name, _PLAIN.get(type(field)), field.get_db_prep_save)
        for field, name in zip(fields, names, strict=True)
    ]
    params: list[Any] = []
    append = params.append
    for row in rows:
        for name, plain, prepare in columns:
            value = row[name]
            if plain is not None and (value is None or type(value) is plain):
                append(value)
            else:
                append(prepare(value, connection))
    return ", ".join([one] * len(rows)), params


def insert_new(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: Sequence[str],
    returning: Sequence[str] = ("id",),
    unique_where: str = "",
) -> list[tuple[Any, ...]]:
    """INSERT the rows, skipping those whose `unique` columns already exist; return the
    `returning` columns of the rows actually inserted (so the caller knows which are new,
    even when another transaction inserted the same key a moment before).

    Every row must have the same keys (model field names). `unique_where` is the
    predicate of a partial unique index on `unique` (e.g. "external_id IS NOT NULL")."""
    if not rows:
        return []
    names = list(rows[0])
    fields = _columns(model, names)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    conflict = ", ".join(connection.ops.quote_name(f.column) for f in _columns(model, unique))
    back = ", ".join(connection.ops.quote_name(f.column) for f in _columns(model, returning))
    target = f"({conflict}) WHERE {unique_where}" if unique_where else f"({conflict})"
    inserted: list[tuple[Any, ...]] = []
    copyable = all(type(field) in _COPY_SAFE for field in fields)
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM_ROWS and copyable:
        return _copy_insert_new(model, fields, names, rows, columns, target, back)
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, len(fields)):
            values, params = _values(fields, names, chunk)
            # Table and column names come from the model's _meta; every value is a bound parameter.
            sql = f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT {target} DO NOTHING RETURNING {back}"  # noqa: S608, E501
            cursor.execute(sql, params)
            inserted.extend(cursor.fetchall())
    return inserted


def upsert_counts(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: Sequence[str],
    add: Sequence[str] = (),
    earliest: Sequence[str] = (),
    latest: Sequence[str] = (),
) -> None:
    """INSERT the rows; where the `unique` key exists already, add the `add` columns to
    the stored ones and keep the earliest / latest of the date columns. Two workers
    adding to the same row both count (the database serialises the update)."""
    if not rows:
        return
    names = list(rows[0])
    fields = _columns(model, names)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    conflict = ", ".join(quote(f.column) for f in _columns(model, unique))
    updates = []
    for name in add:
        column = quote(_column(model, name))
        updates.append(f"{column} = {table}.{column} + excluded.{column}")
    for names_, comparison in ((earliest, "<"), (latest, ">")):
        for name in names_:
            column = quote(_column(model, name))
            updates.append(
                f"{column} = CASE WHEN excluded.{column} {comparison} {table}.{column} "
                f"THEN excluded.{column} ELSE {table}.{column} END"
            )
    action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
    copyable = all(type(field) in _COPY_SAFE for field in fields)
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM_ROWS and copyable:
        with connection.cursor() as cursor:
            stage = _copy_to_stage(cursor, model, fields, names, rows, columns)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} "  # noqa: S608
                f"ON CONFLICT ({conflict}) {action}"
            )
        return
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, len(fields)):
            values, params = _values(fields, names, chunk)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT ({conflict}) {action}",  # noqa: S608
                params,
            )


# From this many rows on, PostgreSQL gets the rows by COPY into a staging table, then one
# INSERT ... SELECT: COPY parses a plain text stream, about twice as fast as bound VALUES.
COPY_FROM_ROWS = 100
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


# One encoder for every value: json.dumps with options builds a new JSONEncoder per call.
_json_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = _json_compact(value)
    return str(value).translate(_COPY_ESCAPES)


def _copy_string(value: Any) -> str:
    return value.translate(_COPY_ESCAPES) if type(value) is str else _copy_text(value)


# Fields whose Python value is what the column stores (no encryption, no custom prep):
# the only ones COPY may write without the field's get_db_prep_save.
_COPY_SAFE = (
    models.CharField, models.TextField, models.URLField, models.IntegerField, models.BigIntegerField,
    models.SmallIntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField, models.FloatField, models.BooleanField, models.DateTimeField,
    models.DateField, models.JSONField, models.ForeignKey, models.BigAutoField, models.AutoField,
    models.DecimalField,
)  # fmt: skip


def _copy_json(value: Any) -> str:
    if value is None:
        return "\\N"
    if not value and isinstance(value, dict | list):  # {} and [] are most of them
        return "{}" if isinstance(value, dict) else "[]"
    return _json_compact(value).translate(_COPY_ESCAPES)


def _copy_moment(value: Any) -> str:
    return "\\N" if value is None else value.isoformat()


def _copy_number(value: Any) -> str:
    return "\\N" if value is None else str(value)


def _copy_bool(value: Any) -> str:
    return "\\N" if value is None else ("t" if value else "f")


def _copy_converter(field: models.Field[Any, Any]) -> Any:
    """The fastest right converter for a column: strings need escaping, numbers do not."""
    kind = type(field)
    if kind in (models.CharField, models.TextField, models.URLField):
        return _copy_string
    if kind is models.JSONField:
        return _copy_json
    if kind is models.BooleanField:
        return _copy_bool
    if kind in (models.DateTimeField, models.DateField):
        return _copy_moment
    if kind in (models.FloatField, models.DecimalField, models.ForeignKey) or issubclass(
        kind, models.IntegerField
    ):
        return _copy_number
    return _copy_text


def _copy_to_stage(
    cursor: Any,
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    names: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    columns: str,
) -> str:
    """COPY the rows into this connection's staging table for `columns` of `model`
    (created on first use, emptied at every commit; no constraints); return its name."""
    table = connection.ops.quote_name(model._meta.db_table)
    stage = connection.ops.quote_name(f"stage_{model._meta.db_table}_{zlib.crc32(columns.encode()):08x}")
    stream = io.StringIO()
    write = stream.write
    converters = [(name, _copy_converter(field)) for field, name in zip(fields, names, strict=True)]
    for row in rows:
        write("\t".join([convert(row[name]) for name, convert in converters]))
        write("\n")
    stream.seek(0)
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT {columns} FROM {table} WITH NO DATA"
    )
    cursor.execute(f"DELETE FROM {stage}")  # noqa: S608
    cursor.copy_expert(f"COPY {stage} ({columns}) FROM STDIN", stream)
    return stage


def _copy_insert_new(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    names: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    columns: str,
    target: str,
    back: str,
) -> list[tuple[Any, ...]]:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        stage = _copy_to_stage(cursor, model, fields, names, rows, columns)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} "  # noqa: S608
            f"ON CONFLICT {target} DO NOTHING RETURNING {back}"
        )
        return list(cursor.fetchall())


def update_rows(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str = "id",
    only_if_null: Sequence[str] = (),
) -> list[Any]:
    """UPDATE many rows, each with its own values, in one statement per chunk; return the
    keys of the rows changed. Every row maps field names to values and holds `key`.
    `only_if_null` names fields that must still be NULL in the stored row (e.g. an
    identity's customer), so that a row someone else changed meanwhile is left alone
    (and not returned).

    Django's bulk_update builds a CASE WHEN per row and field: slow to build and to run."""
    if not rows:
        return []
    names = list(rows[0])
    fields = _columns(model, names)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    key_column = quote(_column(model, key))
    columns = [quote(str(field.column)) for field in fields]
    if connection.vendor == "postgresql":  # VALUES are untyped there: say what each column is
        one = "(" + ", ".join(f"CAST(%s AS {field.db_type(connection)})" for field in fields) + ")"
    else:
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    assignments = ", ".join(f"{column} = v.{column}" for column in columns if column != key_column)
    condition = "".join(f" AND {table}.{quote(_column(model, name))} IS NULL" for name in only_if_null)
    changed: list[Any] = []
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, len(fields)):
            params = [
                field.get_db_prep_save(row[name], connection)
                for row in chunk
                for field, name in zip(fields, names, strict=True)
            ]
            cursor.execute(
                f"WITH v ({', '.join(columns)}) AS (VALUES {', '.join([one] * len(chunk))}) "  # noqa: S608
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{key_column} = v.{key_column}"
                f"{condition} RETURNING {table}.{key_column}",
                params,
            )
            changed.extend(row[0] for row in cursor.fetchall())
    return changed
