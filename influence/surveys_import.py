"""Survey answers from a CSV file (`manage.py import_surveys`, the upload page).

Columns (header row, any order, any case): `kind` (nps|csat), `score`, `answered_at`
(ISO 8601 date-time, or a date: midnight in the site's time zone) - required; the customer
by `customer` (id), `email` or `external_id` (`source:id`) - optional, an answer without
them is anonymous; `comment`, `channel`, `campaign` - optional. Other columns are ignored.

All or nothing: every row is checked first, and one bad row rejects the file with every
error by line number. Importing the same file again adds nothing: each answer keeps a
digest of its row as written (`SurveyResponse.import_key`, unique), so two rows identical
in every column count once, and a customer merged in between does not make a twin.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import IO

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from customers.models import ContactPoint, Customer, ExternalId
from customers.normalize import InvalidValue, normalize_email
from customers.services import survivor_of
from scrm.actors import Actor
from scrm.errors import DomainError
from scrm.models import AuditEntry
from scrm.services import audit_record_many

from .models import SurveyKind, SurveyResponse, score_range
from .services import MAX_COMMENT

REQUIRED_COLUMNS = ("kind", "score", "answered_at")
KNOWN_COLUMNS = {*REQUIRED_COLUMNS, "customer", "email", "external_id", "comment", "channel", "campaign"}
MAX_CHANNEL = 50
MAX_CAMPAIGN = 100
ERRORS_KEPT = 200


class SurveyImportRejected(DomainError):
    """The file was refused as a whole: `errors` lists (line, reason), nothing was kept."""

    status = 400
    code = "survey_import_rejected"

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors[:ERRORS_KEPT]
        self.total = len(errors)
        super().__init__(
            gettext("%(n)d line(s) rejected, nothing imported: %(first)s")
            % {"n": len(errors), "first": "; ".join(f"line {line}: {reason}" for line, reason in errors[:3])}
            + (" ..." if len(errors) > 3 else "")
        )


@dataclass
class SurveyImportSummary:
    rows: int = 0
    created: int = 0
    already_imported: int = 0  # rows whose answer an earlier import (or an earlier row) holds
    by_kind: dict[str, int] = field(default_factory=dict)  # created answers per kind


@dataclass
class _Row:
    line: int
    kind: str
    score: int
    answered_at: datetime
    comment: str
    channel: str
    campaign: str
    customer_id: str
    email: str
    external_id: tuple[str, str] | None
    key: str = ""
    customer: int | None = None


def _answered_at(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None:
        day = date.fromisoformat(text)  # ValueError for anything else
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _parse(line: int, values: dict[str, str]) -> _Row:
    """One row -> a checked _Row; ValueError with a reason a person can act on."""
    kind = values.get("kind", "").lower()
    if kind not in SurveyKind.values:
        raise ValueError(gettext("kind “%(value)s” is not nps or csat") % {"value": values.get("kind", "")})
    low, high = score_range(kind)
    raw_score = values.get("score", "")
    if not raw_score.lstrip("-").isdigit() or not low <= int(raw_score) <= high:
        raise ValueError(
            gettext("score “%(value)s” is not a whole number from %(low)d to %(high)d")
            % {"value": raw_score, "low": low, "high": high}
        )
    try:
        answered_at = _answered_at(values.get("answered_at", ""))
    except ValueError as exc:
        raise ValueError(
            gettext("answered_at “%(value)s” is not an ISO 8601 date-time or date")
            % {"value": values.get("answered_at", "")}
        ) from exc
    customer_id = values.get("customer", "")
    if customer_id and not customer_id.isdigit():
        raise ValueError(gettext("customer “%(value)s” is not a customer id") % {"value": customer_id})
    email = values.get("email", "")
    if email:
        try:
            email = normalize_email(email)
        except InvalidValue as exc:
            raise ValueError(str(exc)) from exc
    external_id = None
    if values.get("external_id"):
        source, sep, ident = values["external_id"].partition(":")
        if not sep or not source or not ident:
            raise ValueError(
                gettext("external_id “%(value)s” is not of the form source:id")
                % {"value": values["external_id"]}
            )
        external_id = (source, ident)
    for name, limit in (("channel", MAX_CHANNEL), ("campaign", MAX_CAMPAIGN)):
        if len(values.get(name, "")) > limit:
            raise ValueError(gettext("%(name)s is longer than %(n)d characters") % {"name": name, "n": limit})
    row = _Row(
        line=line,
        kind=kind,
        score=int(raw_score),
        answered_at=answered_at,
        comment=values.get("comment", "")[:MAX_COMMENT],
        channel=values.get("channel", ""),
        campaign=values.get("campaign", ""),
        customer_id=customer_id,
        email=email,
        external_id=external_id,
    )
    written = "|".join(
        [
            kind,
            str(row.score),
            answered_at.astimezone(UTC).isoformat(),
            customer_id,
            email,
            ":".join(external_id or ()),
            row.comment,
            row.channel,
            row.campaign,
        ]
    )
    row.key = hashlib.sha256(written.encode()).hexdigest()
    return row


def _read(stream: IO[str], on_row: Callable[[], None] | None) -> tuple[list[_Row], list[tuple[int, str]]]:
    reader = csv.DictReader(stream)
    if not reader.fieldnames:
        raise SurveyImportRejected([(1, gettext("the file has no header row"))])
    columns = {(name or "").strip().lower() for name in reader.fieldnames}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise SurveyImportRejected(
            [(1, gettext("missing column(s): %(names)s") % {"names": ", ".join(missing)})]
        )
    rows: list[_Row] = []
    errors: list[tuple[int, str]] = []
    for raw in reader:
        line = reader.line_num
        if None in raw:
            errors.append((line, gettext("more values than columns")))
            continue
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            rows.append(_parse(line, values))
        except ValueError as exc:
            errors.append((line, str(exc)))
        if on_row:
            on_row()
    return rows, errors


def _survivors(customer_ids: Iterable[int]) -> dict[int, int]:
    """Customer id -> its live record's id (tombstones followed), for the ids that exist."""
    found: dict[int, int] = {}
    for customer in Customer.objects.filter(pk__in=set(customer_ids)):
        found[customer.pk] = survivor_of(customer).pk if customer.is_tombstone else customer.pk
    return found


def _resolve_customers(rows: list[_Row]) -> list[tuple[int, str]]:
    """Set each row's customer from its id, e-mail or external id, in three queries; the
    errors of rows whose customer is unknown, ambiguous or contradictory."""
    by_id = _survivors(int(r.customer_id) for r in rows if r.customer_id)
    emails = {r.email for r in rows if r.email}
    owners: dict[str, set[int]] = defaultdict(set)
    for value, customer_id in ContactPoint.objects.filter(
        kind=ContactPoint.Kind.EMAIL, value__in=emails, customer__merged_into__isnull=True
    ).values_list("value", "customer_id"):
        owners[value].add(customer_id)
    wanted = {r.external_id for r in rows if r.external_id}
    external: dict[tuple[str, str], int] = {}
    if wanted:
        condition = Q()
        for source, value in wanted:
            condition |= Q(source=source, value=value)
        pairs = list(ExternalId.objects.filter(condition).values_list("source", "value", "customer_id"))
        live = _survivors(customer_id for _, _, customer_id in pairs)
        external = {(source, value): live[customer_id] for source, value, customer_id in pairs}

    errors: list[tuple[int, str]] = []
    for row in rows:
        candidates: set[int] = set()
        if row.customer_id:
            if int(row.customer_id) not in by_id:
                errors.append((row.line, gettext("no customer #%(id)s") % {"id": row.customer_id}))
                continue
            candidates.add(by_id[int(row.customer_id)])
        if row.email:
            match = owners.get(row.email, set())
            if not match:
                errors.append(
                    (row.line, gettext("no customer with the e-mail %(email)s") % {"email": row.email})
                )
                continue
            if len(match) > 1:
                errors.append(
                    (
                        row.line,
                        gettext("the e-mail %(email)s belongs to several customers (%(ids)s): give their id")
                        % {"email": row.email, "ids": ", ".join(map(str, sorted(match)))},
                    )
                )
                continue
            candidates |= match
        if row.external_id:
            if row.external_id not in external:
                errors.append(
                    (row.line, gettext("no customer with the id %(id)s") % {"id": ":".join(row.external_id)})
                )
                continue
            candidates.add(external[row.external_id])
        if len(candidates) > 1:
            errors.append((row.line, gettext("the customer columns name different customers")))
            continue
        row.customer = candidates.pop() if candidates else None
    return errors


def surveys_import_csv(
    *, stream: IO[str], actor: Actor, source_name: str = "", on_row: Callable[[], None] | None = None
) -> SurveyImportSummary:
    """Check every row, then keep the answers not imported before, in one transaction.
    Raises SurveyImportRejected (every bad line with its reason) and keeps nothing when
    any row is bad. Returns what was read, created and already there."""
    rows, errors = _read(stream, on_row)
    errors += _resolve_customers(rows)
    if errors:
        raise SurveyImportRejected(sorted(errors))
    summary = SurveyImportSummary(rows=len(rows))
    unique: dict[str, _Row] = {}
    for row in rows:
        unique.setdefault(row.key, row)
    for attempt in range(2):
        try:
            with transaction.atomic():
                created = _insert(unique, actor=actor, source_name=source_name)
            break
        except IntegrityError:  # the same file imported at the same moment: the winner keeps it
            if attempt:
                raise
    summary.created = len(created)
    summary.already_imported = summary.rows - summary.created
    for response in created:
        summary.by_kind[response.kind] = summary.by_kind.get(response.kind, 0) + 1
    return summary


def _insert(unique: dict[str, _Row], *, actor: Actor, source_name: str) -> list[SurveyResponse]:
    keys = list(unique)
    there: set[str] = set()
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        found = SurveyResponse.objects.filter(import_key__in=chunk).values_list("import_key", flat=True)
        there.update(str(key) for key in found)
    new = [
        SurveyResponse(
            customer_id=row.customer,
            kind=row.kind,
            score=row.score,
            comment=row.comment,
            channel=row.channel,
            campaign=row.campaign,
            answered_at=row.answered_at,
            source=SurveyResponse.Source.FILE,
            import_key=key,
        )
        for key, row in unique.items()
        if key not in there
    ]
    created = SurveyResponse.objects.bulk_create(new, batch_size=1000)
    audit_record_many(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        model=SurveyResponse,
        entries=[
            (
                response.pk,
                f"Survey answer {response.kind} {response.score} imported from "
                f"{source_name or 'a file'}, line {unique[str(response.import_key)].line}",
                {},
            )
            for response in created
        ],
    )
    return created
