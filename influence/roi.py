"""Return on investment of the programme (docs/roi.md): the costs marketing enters per
month and category (written by `influence.roi_services`), the gains per month - each with
its n and its source, never invented - and ROI = (gains - costs) / costs.

Gains counted, per month in the user's time zone:
- realised referral value: `Referral.value` (net of the reward, filled by the nightly score
  run) of the referrals converted that month; referrals not valued yet are counted apart;
- CLV kept by recovered customers: the latest `ScoreSnapshot.clv` of each customer whose
  negative case, resolved that month, recovered (docs/metrics.md, Service; the recovery is
  the service metrics' own, `cases_with_recovery`);
- loyalty members' incremental margin: not available until the loyalty app holds data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, DateField, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import ProgrammeCost, Referral, ScoreSnapshot
from .service_metrics import cases_with_recovery

ZERO = Decimal("0.00")


# --- months -------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def report_months(*, year: int | None = None, today: date | None = None) -> list[date]:
    """January to December of `year`, or the 12 months ending with the current one."""
    if year is not None:
        return [date(year, number, 1) for number in range(1, 13)]
    last = month_start(today or timezone.localdate())
    return [add_months(last, offset) for offset in range(-11, 1)]


def _month_bounds(months: Sequence[date]) -> tuple[datetime, datetime]:
    """[start of the first month, start of the month after the last) in the user's zone."""
    zone = timezone.get_current_timezone()
    first, after = months[0], add_months(months[-1], 1)
    return datetime.combine(first, time.min, tzinfo=zone), datetime.combine(after, time.min, tzinfo=zone)


def _by_month(column: str) -> TruncMonth:
    return TruncMonth(column, tzinfo=timezone.get_current_timezone(), output_field=DateField())


# --- costs: reads -------------------------------------------------------------------------


def costs_of_months(months: Sequence[date]) -> dict[date, dict[str, ProgrammeCost]]:
    """The costs entered for these months, by month then category."""
    grid: dict[date, dict[str, ProgrammeCost]] = {month: {} for month in months}
    for cost in ProgrammeCost.objects.filter(month__gte=months[0], month__lte=months[-1]):
        grid.setdefault(cost.month, {})[cost.category] = cost
    return grid


# --- gains --------------------------------------------------------------------------------

REFERRALS = "referrals"
RECOVERY = "recovery"
LOYALTY = "loyalty"


@dataclass(frozen=True)
class Gain:
    """One line of gains for a month (or a period). `amount` None: not measurable, and
    `reason` says why. `n` items made the amount; `not_valued` are known but carry no value
    yet (referrals before the nightly run, recovered customers without a CLV);
    `unlinked` recovered cases have no customer to value."""

    key: str
    amount: Decimal | None
    n: int = 0
    not_valued: int = 0
    unlinked: int = 0
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.amount is not None


GAIN_LABELS: dict[str, Any] = {
    REFERRALS: _("Realised referral value"),
    RECOVERY: _("CLV kept by recovered customers"),
    LOYALTY: _("Loyalty members' incremental margin"),
}
GAIN_SOURCES: dict[str, Any] = {
    REFERRALS: _(
        "Sum of the value of referrals converted in the month (referred customer's CLV for type 1, "
        "the acquisition cost saved for type 2, minus the reward), as valued by the nightly score run."
    ),
    RECOVERY: _(
        "Latest CLV of each customer whose negative case, resolved in the month, recovered: they "
        "afterwards posted non-negatively about the brand or answered a satisfied CSAT or promoter NPS."
    ),
    LOYALTY: _("Incremental margin of loyalty members over non-members."),
}


def referral_gains(months: Sequence[date]) -> dict[date, Gain]:
    """Realised referral value per month of conversion."""
    since, until = _month_bounds(months)
    rows = (
        Referral.objects.filter(converted_at__gte=since, converted_at__lt=until)
        .annotate(month=_by_month("converted_at"))
        .values("month")
        .annotate(
            converted=Count("pk"),
            valued=Count("pk", filter=Q(value__isnull=False)),
            total=Sum("value"),
        )
        .order_by()
    )
    found = {row["month"]: row for row in rows}
    gains = {}
    for month in months:
        row = found.get(month, {"converted": 0, "valued": 0, "total": None})
        gains[month] = Gain(
            key=REFERRALS,
            amount=row["total"] or ZERO,
            n=row["valued"],
            not_valued=row["converted"] - row["valued"],
        )
    return gains


def _latest_clv(customer_ids: set[int]) -> dict[int, Decimal | None]:
    latest = (
        ScoreSnapshot.objects.filter(customer=OuterRef("customer")).order_by("-as_of").values("as_of")[:1]
    )
    return dict(
        ScoreSnapshot.objects.filter(customer_id__in=customer_ids, as_of=Subquery(latest)).values_list(
            "customer_id", "clv"
        )
    )


def recovery_gains(months: Sequence[date]) -> dict[date, Gain]:
    """CLV kept by recovered customers, per month of the case's resolution. A customer
    recovered from several cases in one month counts once in it."""
    since, until = _month_bounds(months)
    recovered = (
        cases_with_recovery()
        .filter(negative=True, resolved_at__gte=since, resolved_at__lt=until)
        .filter(Q(recovered_by_post=True) | Q(recovered_by_survey=True))
        .annotate(month=_by_month("resolved_at"), customer=F("author__customer_id"))
        .values_list("month", "customer", "pk")
        .order_by()
    )
    customers: dict[date, set[int]] = defaultdict(set)
    unlinked: dict[date, int] = defaultdict(int)
    for month, customer_id, _case_id in recovered:
        if customer_id is None:
            unlinked[month] += 1
        else:
            customers[month].add(customer_id)
    clv = _latest_clv(set().union(*customers.values())) if customers else {}
    gains = {}
    for month in months:
        values = [clv.get(customer_id) for customer_id in customers.get(month, ())]
        known = [value for value in values if value is not None]
        gains[month] = Gain(
            key=RECOVERY,
            amount=sum(known, ZERO),
            n=len(known),
            not_valued=len(values) - len(known),
            unlinked=unlinked.get(month, 0),
        )
    return gains


def loyalty_incremental_margin(*, month: date) -> Gain:
    """Loyalty members' incremental margin over non-members in `month`. The loyalty app
    holds no data yet: not available, with the reason. When it does, this returns the
    amount with the members counted, and the ROI picks it up."""
    return Gain(key=LOYALTY, amount=None, reason=gettext("not available: no loyalty programme data"))


# --- ROI ----------------------------------------------------------------------------------


def _ratio(gain: Decimal, cost: Decimal) -> Decimal | None:
    return (gain - cost) / cost if cost else None


@dataclass(frozen=True)
class RoiLine:
    """A month (or the period when `month` is None): costs by category, gains by source."""

    month: date | None
    costs: dict[str, Decimal]
    gains: list[Gain]
    costs_entered: int = 0

    @property
    def cost(self) -> Decimal:
        return sum(self.costs.values(), ZERO)

    @property
    def gain(self) -> Decimal:
        """The gains that can be measured; a missing line counts for nothing, never guessed."""
        return sum((g.amount for g in self.gains if g.amount is not None), ZERO)

    @property
    def net(self) -> Decimal:
        return self.gain - self.cost

    @property
    def roi(self) -> Decimal | None:
        """(gains - costs) / costs; None without costs."""
        return _ratio(self.gain, self.cost)

    @property
    def roi_percent(self) -> Decimal | None:
        ratio = self.roi
        return None if ratio is None else 100 * ratio

    def gain_of(self, key: str) -> Gain:
        return next(g for g in self.gains if g.key == key)


@dataclass(frozen=True)
class RoiReport:
    months: list[RoiLine]
    total: RoiLine
    currency: str = field(default_factory=lambda: settings.REPORTING_CURRENCY)

    @property
    def gain_keys(self) -> list[str]:
        return [g.key for g in self.total.gains]


def _total_gain(key: str, gains: list[Gain]) -> Gain:
    amounts = [g.amount for g in gains if g.amount is not None]
    return Gain(
        key=key,
        amount=sum(amounts, ZERO) if amounts else None,
        n=sum(g.n for g in gains),
        not_valued=sum(g.not_valued for g in gains),
        unlinked=sum(g.unlinked for g in gains),
        reason=next((g.reason for g in gains if g.amount is None), "") if not amounts else "",
    )


def roi_report(*, months: Sequence[date]) -> RoiReport:
    """Costs, gains and ROI per month and over the months given (consecutive, first days),
    in four queries whatever the period."""
    months = [month_start(month) for month in months]
    costs = costs_of_months(months)
    referrals, recovery = referral_gains(months), recovery_gains(months)
    lines = [
        RoiLine(
            month=month,
            costs={category: cost.amount for category, cost in costs[month].items()},
            gains=[referrals[month], recovery[month], loyalty_incremental_margin(month=month)],
            costs_entered=len(costs[month]),
        )
        for month in months
    ]
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        for category, amount in line.costs.items():
            totals[category] += amount
    total = RoiLine(
        month=None,
        costs=dict(totals),
        gains=[_total_gain(g.key, [line.gains[i] for line in lines]) for i, g in enumerate(lines[0].gains)],
        costs_entered=sum(line.costs_entered for line in lines),
    )
    return RoiReport(months=lines, total=total)
