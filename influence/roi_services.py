"""The programme's costs (docs/roi.md, "Costs"): what marketing enters per month and
category, set, cleared or saved as a grid, audited. `influence.roi` reads them into the ROI."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from scrm.actors import Actor
from scrm.errors import ValidationFailed
from scrm.models import AuditEntry
from scrm.services import audit_record

from .models import ProgrammeCost
from .roi import month_start

CATEGORIES: list[str] = list(ProgrammeCost.Category.values)
MAX_AMOUNT = Decimal("999999999999.99")  # max_digits=14, decimal_places=2


def _cost_amount(amount: Any) -> Decimal:
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed({"amount": [gettext("Enter an amount, e.g. 1250.50.")]}) from None
    if not value.is_finite():
        raise ValidationFailed({"amount": [gettext("Enter an amount, e.g. 1250.50.")]})
    if value < 0:
        raise ValidationFailed({"amount": [gettext("An amount cannot be negative.")]})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed({"amount": [gettext("Use at most 2 decimals.")]})
    if value > MAX_AMOUNT:
        raise ValidationFailed({"amount": [gettext("This amount is too large.")]})
    return value.quantize(Decimal("0.01"))


def _cost_key(month: Any, category: str) -> date:
    if not isinstance(month, date):
        raise ValidationFailed({"month": [gettext("Enter a month.")]})
    if category not in CATEGORIES:
        raise ValidationFailed(
            {"category": [gettext("Unknown category “%(category)s”.") % {"category": category}]}
        )
    return month_start(month)


@transaction.atomic
def programme_cost_set(
    *, month: date, category: str, amount: Decimal | int | str, note: str = "", actor: Actor
) -> ProgrammeCost:
    """What the programme cost in `month` (any day of it: stored as its first day) for one
    category, replacing what was there. Amount >= 0 with at most 2 decimals, note up to 200
    characters. Audited with the previous values; setting the same values writes nothing."""
    month = _cost_key(month, category)
    value = _cost_amount(amount)
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationFailed({"note": [gettext("Keep the note under 200 characters.")]})
    cost, created = ProgrammeCost.objects.select_for_update().get_or_create(
        month=month, category=category, defaults={"amount": value, "note": note, "updated_by": actor.user}
    )
    if created:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            subject=cost,
            summary=f"Programme cost {cost}",
            changes={"amount": str(value), "note": note},
        )
        return cost
    if cost.amount == value and cost.note == note:
        return cost
    changes = {"amount": [str(cost.amount), str(value)], "note": [cost.note, note]}
    cost.amount, cost.note, cost.updated_by = value, note, actor.user
    cost.save(update_fields=["amount", "note", "updated_by", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        subject=cost,
        summary=f"Programme cost {cost}",
        changes=changes,
    )
    return cost


@transaction.atomic
def programme_cost_clear(*, month: date, category: str, actor: Actor) -> bool:
    """Remove the cost of `month` and category; False when there was none."""
    month = _cost_key(month, category)
    cost = ProgrammeCost.objects.select_for_update().filter(month=month, category=category).first()
    if cost is None:
        return False
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DELETE,
        subject=cost,
        summary=f"Programme cost {cost} removed",
        changes={"amount": str(cost.amount), "note": cost.note},
    )
    cost.delete()
    return True


@dataclass(frozen=True)
class CostEntry:
    """One cell of the costs grid: `amount` None clears it. `key` names it in errors."""

    month: date
    category: str
    amount: Decimal | None
    note: str = ""
    key: str = ""


@transaction.atomic
def programme_costs_save(*, entries: Iterable[CostEntry], actor: Actor) -> int:
    """Apply several cells at once, all or nothing: every refused cell is reported (under
    its key, then the field) and nothing is stored. Returns the number of cells applied."""
    errors: dict[str, list[str]] = {}
    applied = 0
    for entry in entries:
        try:
            with transaction.atomic():
                if entry.amount is None:
                    programme_cost_clear(month=entry.month, category=entry.category, actor=actor)
                else:
                    programme_cost_set(
                        month=entry.month,
                        category=entry.category,
                        amount=entry.amount,
                        note=entry.note,
                        actor=actor,
                    )
        except ValidationFailed as error:
            key = entry.key or f"{entry.month:%Y-%m}_{entry.category}"
            errors[key] = [message for messages in error.field_errors.values() for message in messages]
        else:
            applied += 1
    if errors:
        raise ValidationFailed(errors)
    return applied
