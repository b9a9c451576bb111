"""Objectives (ROO): a target on one of the metrics the product shows, over a period, and
where it stands. Every value comes from the selector that computes the metric elsewhere
(survey NPS and CSAT, the listening figures, the service metrics, referrals), for the
objective's days in the user's time zone, with its sample size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scrm.actors import Actor
from scrm.errors import ValidationFailed
from scrm.models import AuditEntry
from scrm.services import audit_record
from social.selectors import ListeningFilters, listening_figures, share_of_voice

from .models import Objective, Referral
from .selectors import Z95, csat_summary, nps_differ, nps_summary
from .service_metrics import service_report

Metric = Objective.Metric
Direction = Objective.Direction

# Targets a metric can reach: (low, high), None for no bound.
TARGET_RANGES: dict[str, tuple[float | None, float | None]] = {
    Metric.NPS: (-100, 100),
    Metric.NPS_CHANGE: (-200, 200),
    Metric.SENTIMENT_INDEX: (-100, 100),
    Metric.SHARE_OF_VOICE: (0, 100),
    Metric.FIRST_RESPONSE: (0, None),
    Metric.RESPONSE_RATE: (0, 100),
    Metric.RECOVERY_RATE: (0, 100),
    Metric.REFERRALS_CONVERTED: (0, None),
    Metric.CSAT: (0, 100),
}
# Metrics that add up over the period (a count only grows): on track when ahead of the
# pro rata target, met as soon as reached.
CUMULATIVE = {Metric.REFERRALS_CONVERTED}
UNITS: dict[str, str] = {
    Metric.SHARE_OF_VOICE: "%",
    Metric.RESPONSE_RATE: "%",
    Metric.RECOVERY_RATE: "%",
    Metric.CSAT: "%",
    Metric.FIRST_RESPONSE: "min",
}


class Status:
    MET = "met"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    MISSED = "missed"
    NO_DATA = "no_data"

    LABELS: dict[str, Any] = {
        MET: _("met"),
        ON_TRACK: _("on track"),
        AT_RISK: _("at risk"),
        MISSED: _("missed"),
        NO_DATA: _("no data"),
    }


# --- writes -------------------------------------------------------------------------------


def _objective_fields(
    *, name: str, metric: str, direction: str, target: float, period_start: date, period_end: date
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [gettext("An objective needs a name.")]
    elif len(name) > 150:
        errors["name"] = [gettext("Keep the name under 150 characters.")]
    if metric not in Metric.values:
        errors["metric"] = [gettext("Choose a metric.")]
    if direction not in Direction.values:
        errors["direction"] = [gettext("Choose “at least” or “at most”.")]
    if target is None or not math.isfinite(target):
        errors["target"] = [gettext("Enter a target.")]
    elif metric in TARGET_RANGES:
        low, high = TARGET_RANGES[metric]
        label = Metric(metric).label
        if (low is not None and target < low) or (high is not None and target > high):
            if high is None:
                message = gettext("A target for %(metric)s cannot be below %(low)s.")
            else:
                message = gettext("A target for %(metric)s is between %(low)s and %(high)s.")
            errors["target"] = [message % {"metric": label, "low": low, "high": high}]
        elif metric == Metric.REFERRALS_CONVERTED and target != int(target):
            errors["target"] = [gettext("A number of referrals is a whole number.")]
    if not isinstance(period_start, date):
        errors["period_start"] = [gettext("Enter the first day of the period.")]
    if not isinstance(period_end, date):
        errors["period_end"] = [gettext("Enter the last day of the period.")]
    elif isinstance(period_start, date) and period_end < period_start:
        errors["period_end"] = [gettext("The period cannot end before it starts.")]
    if errors:
        raise ValidationFailed(errors)
    return {
        "name": name,
        "metric": metric,
        "direction": direction,
        "target": float(target),
        "period_start": period_start,
        "period_end": period_end,
    }


@transaction.atomic
def objective_create(
    *,
    name: str,
    metric: str,
    direction: str,
    target: float,
    period_start: date,
    period_end: date,
    actor: Actor,
) -> Objective:
    """A new objective. The target must be in the metric's range (NPS -100..100, NPS change
    -200..200, percentages 0..100, minutes and referrals >= 0); the period ends on or after
    its start (both days included)."""
    values = _objective_fields(
        name=name,
        metric=metric,
        direction=direction,
        target=target,
        period_start=period_start,
        period_end=period_end,
    )
    objective = Objective.objects.create(**values, created_by=actor.user)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        subject=objective,
        summary=f"Objective {objective.name}",
        changes={k: str(v) for k, v in values.items()},
    )
    return objective


@transaction.atomic
def objective_update(
    *,
    objective: Objective,
    name: str,
    metric: str,
    direction: str,
    target: float,
    period_start: date,
    period_end: date,
    actor: Actor,
) -> Objective:
    """Change an objective, with the same rules as objective_create; audited old -> new."""
    values = _objective_fields(
        name=name,
        metric=metric,
        direction=direction,
        target=target,
        period_start=period_start,
        period_end=period_end,
    )
    changes = {
        k: [str(getattr(objective, k)), str(v)] for k, v in values.items() if getattr(objective, k) != v
    }
    if not changes:
        return objective
    for key, value in values.items():
        setattr(objective, key, value)
    objective.save(update_fields=list(values))
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        subject=objective,
        summary=f"Objective {objective.name} changed",
        changes=changes,
    )
    return objective


@transaction.atomic
def objective_delete(*, objective: Objective, actor: Actor) -> None:
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DELETE,
        subject=objective,
        summary=f"Objective {objective.name} removed",
        changes={"metric": objective.metric, "target": objective.target},
    )
    objective.delete()


# --- reads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A metric's value over some days, with its n; for NPS its 95 % interval."""

    value: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    indicative: bool = False
    previous: float | None = None  # NPS change: the previous period's NPS
    previous_n: int = 0
    differ: bool | None = None  # NPS change: the two periods differ (docs/metrics.md)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _nps_change(first: date, last: date) -> Measure:
    days = (last - first).days + 1
    before_last = first - timedelta(days=1)
    before_first = before_last - timedelta(days=days - 1)
    current = nps_summary(since=_start_of(first), until=_start_of(last + timedelta(days=1)))
    previous = nps_summary(since=_start_of(before_first), until=_start_of(first))
    if current.nps is None or previous.nps is None or current.se is None or previous.se is None:
        return Measure(None, current.n, previous=previous.nps, previous_n=previous.n)
    change = current.nps - previous.nps
    spread = Z95 * math.sqrt(current.se**2 + previous.se**2)
    return Measure(
        value=change,
        n=current.n,
        ci_low=max(-200.0, change - spread),
        ci_high=min(200.0, change + spread),
        indicative=current.indicative or previous.indicative,
        previous=previous.nps,
        previous_n=previous.n,
        differ=nps_differ(current, previous),
    )


def metric_measure(metric: str, first: date, last: date, *, memo: dict[Any, Any] | None = None) -> Measure:
    """The value of `metric` over the days first..last (both included). Objectives on the
    same period share one service report and one listening read through `memo`."""
    since, until = _start_of(first), _start_of(last + timedelta(days=1))
    memo = {} if memo is None else memo
    if metric == Metric.NPS:
        nps = nps_summary(since=since, until=until)
        return Measure(nps.nps, nps.n, nps.ci_low, nps.ci_high, nps.indicative)
    if metric == Metric.NPS_CHANGE:
        return _nps_change(first, last)
    if metric == Metric.CSAT:
        csat = csat_summary(since=since, until=until)
        return Measure(csat.csat, csat.n, indicative=csat.indicative)
    if metric == Metric.SENTIMENT_INDEX:
        if ("listening", first, last) not in memo:
            memo["listening", first, last] = listening_figures(
                ListeningFilters(since=first, until=last), top_authors=0
            )
        sentiment = memo["listening", first, last].sentiment
        return Measure(sentiment.index, sentiment.total)
    if metric == Metric.SHARE_OF_VOICE:
        if ("listening", first, last) in memo:
            voice = memo["listening", first, last].share_of_voice
        else:
            voice, _by_competitor = share_of_voice(ListeningFilters(since=first, until=last))
        return Measure(voice.share, voice.total)
    if metric == Metric.REFERRALS_CONVERTED:
        converted = Referral.objects.filter(converted_at__gte=since, converted_at__lt=until).count()
        return Measure(float(converted), converted)
    if ("service", first, last) not in memo:
        memo["service", first, last] = service_report(since=since, until=until).overall
    service = memo["service", first, last]
    if metric == Metric.FIRST_RESPONSE:
        return Measure(service.first_response.median, service.first_response.n)
    rate = service.response_rate if metric == Metric.RESPONSE_RATE else service.recovery
    return Measure(rate.percent, rate.n)


@dataclass(frozen=True)
class ObjectiveProgress:
    objective: Objective
    measure: Measure
    status: str
    elapsed: float  # share of the period gone by, 0..1
    progress: float | None  # cumulative metrics: % of the target reached

    @property
    def value(self) -> float | None:
        return self.measure.value

    @property
    def n(self) -> int:
        return self.measure.n

    @property
    def elapsed_percent(self) -> float:
        return 100 * self.elapsed

    @property
    def status_label(self) -> Any:
        return Status.LABELS[self.status]

    @property
    def unit(self) -> str:
        return UNITS.get(self.objective.metric, "")

    @property
    def gap(self) -> float | None:
        """value - target: how far above (+) or below (-) the target."""
        return None if self.value is None else self.value - self.objective.target

    @property
    def significant(self) -> bool | None:
        """With an interval: False while the target lies inside it (not significant yet)."""
        low, high = self.measure.ci_low, self.measure.ci_high
        if low is None or high is None:
            return None
        return not low <= self.objective.target <= high


def _reached(objective: Objective, value: float) -> bool:
    if objective.direction == Direction.AT_MOST:
        return value <= objective.target
    return value >= objective.target


def objective_status(objective: Objective, value: float | None, *, today: date) -> tuple[str, float]:
    """(status, share of the period elapsed). Over: met or missed. Running: a level metric
    is on track while it meets the target, at risk otherwise; a count is met once reached
    and on track while at or ahead of the target pro rata."""
    days = (objective.period_end - objective.period_start).days + 1
    elapsed = min(max((today - objective.period_start).days + 1, 0), days) / days
    if value is None:
        return Status.NO_DATA, elapsed
    reached = _reached(objective, value)
    if today > objective.period_end:
        return (Status.MET if reached else Status.MISSED), elapsed
    if objective.metric in CUMULATIVE:
        if objective.direction == Direction.AT_LEAST:
            if reached:
                return Status.MET, elapsed
            return (Status.ON_TRACK if value >= objective.target * elapsed else Status.AT_RISK), elapsed
        return (Status.ON_TRACK if reached else Status.MISSED), elapsed
    return (Status.ON_TRACK if reached else Status.AT_RISK), elapsed


def objective_progress(
    objective: Objective, *, today: date | None = None, memo: dict[Any, Any] | None = None
) -> ObjectiveProgress:
    today = today or timezone.localdate()
    measure = metric_measure(objective.metric, objective.period_start, objective.period_end, memo=memo)
    status, elapsed = objective_status(objective, measure.value, today=today)
    progress = None
    if objective.metric in CUMULATIVE and objective.target > 0 and measure.value is not None:
        progress = 100 * measure.value / objective.target
    return ObjectiveProgress(objective, measure, status, elapsed, progress)


def objectives_with_progress(
    *, today: date | None = None, limit: int | None = None
) -> list[ObjectiveProgress]:
    """Every objective (latest period first) with where it stands."""
    objectives = Objective.objects.order_by("-period_end", "name")
    chosen = objectives[:limit] if limit else objectives
    memo: dict[Any, Any] = {}
    return [objective_progress(objective, today=today, memo=memo) for objective in chosen]
