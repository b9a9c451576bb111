"""Merging two customers into one, and undoing it exactly.

A merge re-points every row that references the merged record (`other`) to the survivor:
the customer app's own rows and every reference other apps registered
(customers.registry.register_customer_reference). `other` stays as a tombstone
(`merged_into`); nothing is deleted. The MergeEvent keeps a snapshot of every change so
`merge_undo` can put each row and field back, even after later activity on the survivor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from scrm.actors import Actor
from scrm.errors import Conflict, ValidationFailed
from scrm.models import AuditEntry
from scrm.services import audit_record

from .models import ContactPoint, Customer, MergeEvent
from .registry import customer_references

# Survivor fields a merge may fill when they are empty on the survivor.
FILLABLE_FIELDS = ("first_name", "last_name", "locale", "date_of_birth")


class MergeRefused(Conflict):
    code = "merge_refused"


@dataclass
class UndoResult:
    event: MergeEvent
    restored: dict[str, int] = field(default_factory=dict)  # reference -> rows moved back
    new_rows_kept: list[dict[str, Any]] = field(default_factory=list)  # rows that stay


def _key(model: type[Model], field_name: str) -> str:
    return f"{model._meta.label}:{field_name}"


def _references() -> list[tuple[str, type[Model], str]]:
    return [(_key(m, r.field), m, r.field) for r in customer_references() for m in [apps.get_model(r.model)]]


def _staying(model: type[Model], fk: str, survivor: Customer, other: Customer) -> Q:
    """The rows of `other` its owning app keeps on the tombstone (see CustomerReference.stays)."""
    found = next((r for r in customer_references() if r.model == model._meta.label and r.field == fk), None)
    return found.stays(survivor, other) if found and found.stays else Q(pk__in=[])


def _lock_pair(first_id: int, second_id: int) -> dict[int, Customer]:
    """Lock both rows in id order so that two concurrent merges cannot deadlock or both win."""
    rows = Customer.objects.select_for_update().filter(pk__in=[first_id, second_id]).order_by("pk")
    return {c.pk: c for c in rows}


@transaction.atomic
def customer_merge(*, survivor: Customer, other: Customer, actor: Actor, reason: str = "") -> MergeEvent:
    """Merge `other` into `survivor`. Refuses (409) a merge into itself, into or from a
    tombstone, and leaves everything unchanged when it refuses."""
    if survivor.pk == other.pk:
        raise ValidationFailed({"other": ["A customer cannot be merged into itself."]})
    locked = _lock_pair(survivor.pk, other.pk)
    survivor, other = locked[survivor.pk], locked[other.pk]
    for customer in (survivor, other):
        if customer.is_tombstone:
            raise MergeRefused(
                f"Customer {customer.pk} was already merged into customer {customer.merged_into_id}."
            )

    snapshot: dict[str, Any] = {"survivor_fields": {}, "moved": {}, "kept_on_other": [], "survivor_rows": {}}
    for name in FILLABLE_FIELDS:
        if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, ""):
            snapshot["survivor_fields"][name] = _jsonable(getattr(survivor, name))
            setattr(survivor, name, getattr(other, name))
    if other.attributes:
        snapshot["survivor_fields"]["attributes"] = survivor.attributes
        survivor.attributes = {**other.attributes, **survivor.attributes}

    for key, model, fk in _references():
        snapshot["survivor_rows"][key] = list(
            model._default_manager.filter(**{fk: survivor}).values_list("pk", flat=True)
        )
        if model is ContactPoint:
            snapshot["moved"][key] = _move_contact_points(survivor, other, snapshot)
            continue
        moving = model._default_manager.filter(**{fk: other}).exclude(_staying(model, fk, survivor, other))
        pks = list(moving.values_list("pk", flat=True))
        model._default_manager.filter(pk__in=pks).update(**{fk: survivor})
        snapshot["moved"][key] = [{"pk": pk} for pk in pks]

    survivor.save()
    other.merged_into = survivor
    other.save(update_fields=["merged_into", "updated_at"])
    event = MergeEvent.objects.create(
        survivor=survivor,
        other=other,
        merged_by=actor.user,
        merged_by_label=actor.label[:150],
        reason=reason[:200],
        snapshot=snapshot,
    )
    moved = sum(len(rows) for rows in snapshot["moved"].values())
    _audit_both(
        actor=actor,
        action=AuditEntry.Action.MERGE,
        entries=(
            (survivor, f"Customer #{other.pk} merged into this record ({moved} rows moved)"),
            (other, f"Merged into customer #{survivor.pk}"),
        ),
        changes={"merge_id": event.pk, "reason": reason},
    )
    return event


def _audit_both(
    *, actor: Actor, action: str, entries: tuple[tuple[Customer, str], ...], changes: dict[str, Any]
) -> None:
    """A merge or its undo is written in the history of both customers."""
    for subject, summary in entries:
        audit_record(actor=actor, action=action, subject=subject, summary=summary, changes=changes)


def _move_contact_points(
    survivor: Customer, other: Customer, snapshot: dict[str, Any]
) -> list[dict[str, Any]]:
    """Contact points are unique per customer: one the survivor already has stays on the
    tombstone (kept, not deleted); moved ones lose `primary` where the survivor has one."""
    held = {(p.kind, p.value) for p in survivor.contact_points.all()}
    has_primary = set(survivor.contact_points.filter(is_primary=True).values_list("kind", flat=True))
    moved = []
    for point in other.contact_points.all():
        if (point.kind, point.value) in held:
            snapshot["kept_on_other"].append(point.pk)
            continue
        moved.append({"pk": point.pk, "is_primary": point.is_primary})
        point.customer = survivor
        if point.kind in has_primary:
            point.is_primary = False
        point.save(update_fields=["customer", "is_primary"])
    return moved


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@transaction.atomic
def merge_undo(*, event: MergeEvent, actor: Actor) -> UndoResult:
    """Put back exactly what the merge changed. Rows added to the survivor since the merge
    stay with it and are listed. Refused (409) when already undone, or when the survivor
    was itself merged since (undo that later merge first)."""
    event = MergeEvent.objects.select_for_update().get(pk=event.pk)
    if event.is_undone:
        raise MergeRefused(f"Merge {event.pk} was already undone.")
    locked = _lock_pair(event.survivor_id, event.other_id)
    survivor, other = locked[event.survivor_id], locked[event.other_id]
    if survivor.is_tombstone:
        later = MergeEvent.objects.filter(other=survivor, undone_at__isnull=True).first()
        raise MergeRefused(
            f"Customer {survivor.pk} was merged again since; undo merge {later.pk if later else '?'} first."
        )
    snapshot = event.snapshot
    result = UndoResult(event=event)
    for key, model, fk in _references():
        rows = snapshot["moved"].get(key, [])
        pks = [row["pk"] for row in rows]
        result.restored[key] = model._default_manager.filter(pk__in=pks, **{fk: survivor}).update(
            **{fk: other}
        )
        if model is ContactPoint:
            for row in rows:
                ContactPoint.objects.filter(pk=row["pk"]).update(is_primary=row["is_primary"])
        before = set(snapshot["survivor_rows"].get(key, [])) | set(pks)
        for pk in model._default_manager.filter(**{fk: survivor}).values_list("pk", flat=True):
            if pk not in before:
                result.new_rows_kept.append({"model": model._meta.label_lower, "id": pk})
    for name, value in snapshot["survivor_fields"].items():
        setattr(survivor, name, value)
    survivor.save()
    other.merged_into = None
    other.save(update_fields=["merged_into", "updated_at"])
    event.undone_at = timezone.now()
    event.undone_by_label = actor.label[:150]
    event.save(update_fields=["undone_at", "undone_by_label"])
    _audit_both(
        actor=actor,
        action=AuditEntry.Action.UNDO,
        entries=(
            (survivor, f"Merge of customer #{other.pk} undone"),
            (other, f"Merge into customer #{survivor.pk} undone"),
        ),
        changes={"merge_id": event.pk, "new_rows_kept": result.new_rows_kept},
    )
    return result
