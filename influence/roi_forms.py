"""Forms of the ROI page (costs grid, period) and of the objectives page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from .models import Objective, ProgrammeCost
from .roi import add_months
from .roi_services import CATEGORIES, CostEntry

AMOUNT_ERRORS = {
    "invalid": _("Enter an amount, e.g. 1250.50."),
    "min_value": _("An amount cannot be negative."),
    "max_decimal_places": _("Use at most 2 decimals."),
    "max_digits": _("This amount is too large."),
    "max_whole_digits": _("This amount is too large."),
}


class RoiPeriodForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Period"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        this_year = timezone.localdate().year
        first_cost = ProgrammeCost.objects.order_by("month").values_list("month", flat=True).first()
        first_year = min(this_year - 4, first_cost.year if first_cost else this_year)
        cast(forms.TypedChoiceField, self.fields["year"]).choices = [
            ("", _("Last 12 months")),
            *((year, str(year)) for year in range(this_year, first_year - 1, -1)),
        ]

    def chosen_year(self) -> int | None:
        return self.cleaned_data.get("year") if self.is_valid() else None


@dataclass(frozen=True)
class CostCell:
    """One amount and its note in the grid, for the template."""

    month: date
    category: str
    amount: forms.BoundField
    note: forms.BoundField


def cell_name(month: date, category: str) -> str:
    return f"{month:%Y-%m}_{category}"


class CostGridForm(forms.Form):
    """Months x categories: an amount (blank for none) and a note per cell. Only the cells
    sent and changed against what is stored become entries: a cell sent empty clears its
    cost, a cell not sent at all is left alone."""

    def __init__(
        self,
        *args: Any,
        months: Sequence[date],
        stored: dict[date, dict[str, ProgrammeCost]],
        **kwargs: Any,
    ) -> None:
        initial: dict[str, Any] = {}
        for month in months:
            for category, cost in stored.get(month, {}).items():
                initial[cell_name(month, category)] = cost.amount
                initial[f"{cell_name(month, category)}_note"] = cost.note
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.months = list(months)
        self.stored = stored
        for month in self.months:
            for category in CATEGORIES:
                month_label = formats.date_format(month, "YEAR_MONTH_FORMAT")
                label = f"{month_label} · {ProgrammeCost.Category(category).label}"
                name = cell_name(month, category)
                self.fields[name] = forms.DecimalField(
                    label=label,
                    required=False,
                    min_value=Decimal(0),
                    max_digits=14,
                    decimal_places=2,
                    localize=True,
                    error_messages=AMOUNT_ERRORS,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 9, "autocomplete": "off"}),
                )
                self.fields[f"{name}_note"] = forms.CharField(
                    label=_("Note for %(cell)s") % {"cell": label},
                    required=False,
                    max_length=200,
                    error_messages={"max_length": _("Keep the note under 200 characters.")},
                    widget=forms.TextInput(attrs={"size": 9, "placeholder": _("note"), "class": "note"}),
                )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for month in self.months:
            for category in CATEGORIES:
                name = cell_name(month, category)
                if cleaned.get(f"{name}_note") and cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Enter an amount for this note, or remove the note."))
        return cleaned

    def rows(self) -> list[tuple[date, list[CostCell]]]:
        return [
            (
                month,
                [
                    CostCell(
                        month,
                        category,
                        self[cell_name(month, category)],
                        self[f"{cell_name(month, category)}_note"],
                    )
                    for category in CATEGORIES
                ],
            )
            for month in self.months
        ]

    def cell_errors(self) -> list[tuple[str, str]]:
        """(cell label, message) for each refused cell, for the summary above the grid."""
        return [
            (str(self.fields[name].label) if name in self.fields else "", str(message))
            for name, messages in self.errors.items()
            for message in messages
        ]

    def entries(self) -> list[CostEntry]:
        changes = []
        for month in self.months:
            for category in CATEGORIES:
                name = cell_name(month, category)
                if self.add_prefix(name) not in self.data:
                    continue  # a cell not sent is left as it is; only a sent empty cell clears
                amount = self.cleaned_data.get(name)
                note = (self.cleaned_data.get(f"{name}_note") or "").strip()
                stored = self.stored.get(month, {}).get(category)
                if stored is None and amount is None:
                    continue
                if stored is not None and amount == stored.amount and note == stored.note:
                    continue
                changes.append(CostEntry(month=month, category=category, amount=amount, note=note, key=name))
        return changes


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ObjectiveForm(forms.Form):
    """Types only: the ranges and the period order are the service's to check (it says why)."""

    name = forms.CharField(
        label=_("Name"), max_length=150, error_messages={"required": _("An objective needs a name.")}
    )
    metric = forms.ChoiceField(label=_("Metric"), choices=Objective.Metric.choices)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Objective.Direction.choices, initial=Objective.Direction.AT_LEAST
    )
    target = forms.FloatField(
        label=_("Target"),
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_(
            "NPS -100 to 100, NPS change -200 to 200, sentiment index -100 to 100, percentages 0 to 100, "
            "minutes and referrals 0 or more."
        ),
        error_messages={"required": _("Enter a target."), "invalid": _("Enter a number.")},
    )
    period_start = forms.DateField(
        label=_("From"),
        widget=DATE_WIDGET,
        error_messages={"required": _("Enter the first day of the period."), "invalid": _("Enter a date.")},
    )
    period_end = forms.DateField(
        label=_("To (included)"),
        widget=DATE_WIDGET,
        error_messages={"required": _("Enter the last day of the period."), "invalid": _("Enter a date.")},
    )

    @classmethod
    def for_this_quarter(cls, data: Any = None) -> ObjectiveForm:
        """A new objective, its period this quarter by default."""
        today = timezone.localdate()
        start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        end = add_months(start, 3) - timedelta(days=1)
        return cls(data, initial={"period_start": start, "period_end": end})

    @classmethod
    def for_objective(cls, objective: Objective, data: Any = None) -> ObjectiveForm:
        fields = ("name", "metric", "direction", "target", "period_start", "period_end")
        return cls(data, initial={name: getattr(objective, name) for name in fields})

    def objective_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}
