"""Pages: return on investment (costs grid, gains, ROI per month, CSV) and objectives."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from scrm.actors import Actor
from scrm.errors import ValidationFailed
from scrm.exports import csv_response, wants_csv
from scrm.forms import add_domain_errors

from .models import Objective, ProgrammeCost
from .objectives import objective_create, objective_delete, objective_update, objectives_with_progress
from .roi import (
    GAIN_LABELS,
    GAIN_SOURCES,
    LOYALTY,
    RECOVERY,
    REFERRALS,
    RoiLine,
    RoiReport,
    costs_of_months,
    report_months,
    roi_report,
)
from .roi_forms import CostGridForm, ObjectiveForm, RoiPeriodForm
from .roi_services import CATEGORIES, programme_costs_save

OBJECTIVES_ON_ROI_PAGE = 10


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


def _percent(ratio: Decimal | None) -> str:
    return "" if ratio is None else f"{100 * ratio:.1f}"


def _csv_line(label: str, line: RoiLine) -> list[Any]:
    referrals, recovery, loyalty = (line.gain_of(key) for key in (REFERRALS, RECOVERY, LOYALTY))
    return [
        label,
        *(_money(line.costs.get(category)) for category in CATEGORIES),
        _money(line.cost),
        _money(referrals.amount),
        referrals.n,
        referrals.not_valued,
        _money(recovery.amount),
        recovery.n,
        recovery.not_valued,
        recovery.unlinked,
        _money(loyalty.amount) if loyalty.available else loyalty.reason,
        _money(line.gain),
        _money(line.net),
        _percent(line.roi),
    ]


def _csv(report: RoiReport) -> HttpResponseBase:
    header = [
        _("month"),
        *(f"{_('cost')}: {ProgrammeCost.Category(c).label}" for c in CATEGORIES),
        _("costs"),
        str(GAIN_LABELS[REFERRALS]),
        _("referrals valued"),
        _("referrals not valued yet"),
        str(GAIN_LABELS[RECOVERY]),
        _("recovered customers with a CLV"),
        _("recovered customers without a CLV yet"),
        _("recovered cases without a customer"),
        str(GAIN_LABELS[LOYALTY]),
        _("gains measured"),
        _("net"),
        _("ROI %"),
    ]

    def rows() -> Iterator[list[Any]]:
        for line in report.months:
            yield _csv_line(f"{line.month:%Y-%m}", line)
        yield _csv_line(_("total"), report.total)

    return csv_response(f"roi-{report.currency.lower()}", header, rows())


def _chart(report: RoiReport) -> dict[str, Any]:
    """What the Chart.js chart draws: costs, measured gains and ROI % per month."""
    return {
        "months": [
            formats.date_format(line.month, "YEAR_MONTH_FORMAT") for line in report.months if line.month
        ],
        "costs": [float(line.cost) for line in report.months],
        "gains": [float(line.gain) for line in report.months],
        "roi": [
            None if line.roi_percent is None else round(float(line.roi_percent), 1) for line in report.months
        ],
        "currency": report.currency,
        "labels": {
            "costs": _("Costs"),
            "gains": _("Gains measured"),
            "roi": _("ROI %"),
            "noCosts": _("no costs entered"),
        },
    }


def _can_edit_costs(user: Any) -> bool:
    return user.has_perm("influence.add_programmecost") and user.has_perm("influence.change_programmecost")


@login_required
@permission_required("influence.view_programmecost", raise_exception=True)
def roi_page(request: HttpRequest) -> HttpResponseBase:
    period = RoiPeriodForm(request.GET or None)
    months = report_months(year=period.chosen_year())
    if wants_csv(request):
        return _csv(roi_report(months=months))
    if request.method == "POST" and not _can_edit_costs(request.user):
        raise PermissionDenied
    stored = costs_of_months(months)
    grid = CostGridForm(request.POST or None, months=months, stored=stored, prefix="cost")
    if request.method == "POST" and grid.is_valid():
        try:
            applied = programme_costs_save(entries=grid.entries(), actor=Actor.for_user(request.user))
        except ValidationFailed as error:
            add_domain_errors(grid, error)
        else:
            messages.success(
                request,
                ngettext("Costs saved: %(n)d cell changed.", "Costs saved: %(n)d cells changed.", applied)
                % {"n": applied},
            )
            return redirect(request.get_full_path())
    report = roi_report(months=months)
    can_see_objectives = request.user.has_perm("influence.view_objective")
    context = {
        "period": period,
        "report": report,
        "chart": _chart(report),
        "grid": grid,
        "categories": [ProgrammeCost.Category(c) for c in CATEGORIES],
        "can_edit_costs": _can_edit_costs(request.user),
        "gain_columns": [GAIN_LABELS[key] for key in report.gain_keys],
        "gain_sources": [(GAIN_LABELS[key], GAIN_SOURCES[key]) for key in report.gain_keys],
        "objectives": objectives_with_progress(limit=OBJECTIVES_ON_ROI_PAGE) if can_see_objectives else None,
        "query": request.GET.urlencode(),
    }
    return render(request, "influence/roi.html", context, status=400 if grid.errors else 200)


# --- objectives ---------------------------------------------------------------------------


@login_required
@permission_required("influence.view_objective", raise_exception=True)
def objectives_page(request: HttpRequest) -> HttpResponse:
    """Every objective with where it stands, and the form for a new one."""
    can_add = request.user.has_perm("influence.add_objective")
    if request.method == "POST" and not can_add:
        raise PermissionDenied
    form = ObjectiveForm.for_this_quarter(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            objective = objective_create(actor=Actor.for_user(request.user), **form.objective_fields())
        except ValidationFailed as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, _("Objective “%(name)s” added.") % {"name": objective.name})
            return redirect("influence:objectives")
    context = {"form": form, "can_add": can_add, "objectives": objectives_with_progress()}
    return render(request, "influence/objectives.html", context, status=400 if form.errors else 200)


@login_required
@permission_required("influence.change_objective", raise_exception=True)
def objective_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    objective = get_object_or_404(Objective, pk=pk)
    form = ObjectiveForm.for_objective(objective, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            fields = form.objective_fields()
            objective_update(objective=objective, actor=Actor.for_user(request.user), **fields)
        except ValidationFailed as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, _("Objective “%(name)s” saved.") % {"name": objective.name})
            return redirect("influence:objectives")
    context = {"form": form, "objective": objective}
    return render(request, "influence/objective_form.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
@permission_required("influence.delete_objective", raise_exception=True)
def objective_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    objective = get_object_or_404(Objective, pk=pk)
    name = objective.name
    objective_delete(objective=objective, actor=Actor.for_user(request.user))
    messages.success(request, _("Objective “%(name)s” removed.") % {"name": name})
    return redirect("influence:objectives")
