"""CSV export of any list the product shows: streamed, so a 100,000-row export never sits
in memory, and safe to open in a spreadsheet (cells that would start a formula are quoted
with a leading apostrophe - OWASP "CSV injection")."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write returns what it was given (csv.writer -> generator)."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # Numbers written as text ("-12.5") stay readable; anything else is neutralised.
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def csv_rows(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # BOM: spreadsheets then read the file as UTF-8
    yield writer.writerow([str(h) for h in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """`name` without extension; the date of the export is appended."""
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response
