"""Customer CSV import (api-contract.md): each row upserted on its own, bad rows reported
with their line number while the rest imports; then resolution on what was brought."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO

from scrm.actors import Actor
from scrm.errors import DomainError

from .inputs import AddressInput, ContactInput, CustomerData, SocialInput
from .models import Network
from .services import customer_upsert

KNOWN_COLUMNS = {
    "external_id", "first_name", "last_name", "email", "phone", "date_of_birth",
    "street", "city", "postcode", "country", "handle",
}  # fmt: skip
ROW_SOURCE = "csv-row"


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged_ids: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    customer_ids: list[int] = field(default_factory=list)


class RowError(ValueError):
    pass


def _row_data(row: dict[str, str], *, source: str) -> CustomerData:
    values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    external_ids: dict[str, str] = {}
    if values.get("external_id"):
        src, sep, ident = values["external_id"].partition(":")
        if not sep or not src or not ident:
            raise RowError(f"external_id “{values['external_id']}” is not of the form source:id")
        external_ids[src] = ident
    else:
        # A row without an id keeps a fingerprint of its content, so importing the same
        # file again finds the customer it created instead of making a twin.
        content = "|".join(f"{k}={values.get(k, '')}" for k in sorted(KNOWN_COLUMNS))
        external_ids[ROW_SOURCE] = hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()[:20]
    dob = None
    if values.get("date_of_birth"):
        try:
            dob = date.fromisoformat(values["date_of_birth"])
        except ValueError as exc:
            raise RowError(
                f"date_of_birth “{values['date_of_birth']}” is not an ISO date (YYYY-MM-DD)"
            ) from exc
    social = []
    if values.get("handle"):
        network, sep, handle = values["handle"].partition(":")
        if not sep or network not in Network.values:
            raise RowError(f"handle “{values['handle']}” is not of the form network:handle")
        social.append(SocialInput(network=network, handle=handle))
    address = AddressInput(
        street=values.get("street", ""), city=values.get("city", ""),
        postcode=values.get("postcode", ""), country=values.get("country", ""),
    )  # fmt: skip
    return CustomerData(
        first_name=values.get("first_name") or None,
        last_name=values.get("last_name") or None,
        date_of_birth=dob,
        emails=[ContactInput(values["email"])] if values.get("email") else [],
        phones=[ContactInput(values["phone"])] if values.get("phone") else [],
        addresses=[address] if any(address.__dict__.values()) else [],
        external_ids=external_ids,
        social=social,
        attributes={k: v for k, v in values.items() if k not in KNOWN_COLUMNS and v},
        source=source,
    )


def _rows(stream: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(stream)
    if not reader.fieldnames:
        raise RowError("the file has no header row")
    for row in reader:
        yield reader.line_num, row


def customers_import_csv(
    *, stream: IO[str], actor: Actor, source: str = "csv", on_row: Callable[[], None] | None = None
) -> ImportSummary:
    """Upsert every row; a rejected row is listed with its line and reason, the others go in."""
    summary = ImportSummary()
    for line, row in _rows(stream):
        summary.rows += 1
        try:
            if None in row:
                raise RowError("more values than columns")
            customer, created = customer_upsert(data=_row_data(row, source=source), actor=actor)
        except RowError as exc:
            summary.rejected.append((line, str(exc)))
        except DomainError as exc:
            reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.field_errors.items()) or exc.message
            summary.rejected.append((line, reasons))
        else:
            summary.customer_ids.append(customer.pk)
            summary.created += int(created)
            summary.updated += int(not created)
        if on_row:
            on_row()
    return summary
