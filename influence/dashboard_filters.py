"""The marketing dashboard's filters: the period (a preset or custom days, in the
installation's time zone), the narrowing filters (network, segment, campaign), and the
buckets (days, ISO weeks or months) a trend over the period is drawn in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

DEFAULT_PERIOD = "30"


@dataclass(frozen=True)
class DashboardFilters:
    """Days `since` to `until`, both included, in the installation's time zone (the days of
    the rollups), and the narrowing filters. A filter a figure cannot honour is said on
    the page next to it (e.g. survey answers have no network)."""

    since: date
    until: date
    period: str = DEFAULT_PERIOD
    network: str = ""
    segment: str = ""
    campaign: str = ""

    @property
    def start(self) -> datetime:
        return day_start(self.since)

    @property
    def end(self) -> datetime:
        return day_start(self.until + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def query(self) -> dict[str, str]:
        """The filters as the dashboard's own query string (kept in every link back)."""
        query = {"period": self.period}
        if self.period == "custom":
            query |= {"since": self.since.isoformat(), "until": self.until.isoformat()}
        for name in ("network", "segment", "campaign"):
            if value := getattr(self, name):
                query[name] = value
        return query


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def period_window(period: str, today: date | None = None) -> tuple[date, date]:
    """The days of a preset period, today included: the last 7, 30 or 90 days, or this
    calendar quarter so far."""
    today = today or timezone.localdate()
    if period == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        return today.replace(month=first_month, day=1), today
    return today - timedelta(days=int(period) - 1), today


def default_filters(today: date | None = None) -> DashboardFilters:
    since, until = period_window(DEFAULT_PERIOD, today)
    return DashboardFilters(since=since, until=until)


# --- buckets of a trend -------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """Days `start` to `end` included (a day, an ISO week or a month, cut to the period)."""

    start: date
    end: date
    unit: str  # day | week | month

    @property
    def label(self) -> str:
        if self.unit == "month":
            return f"{self.start:%Y-%m}"
        return self.start.isoformat()

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def buckets(since: date, until: date, unit: str) -> list[Bucket]:
    result = []
    start = since
    while start <= until:
        if unit == "day":
            end = start
        elif unit == "week":
            end = start + timedelta(days=6 - start.weekday())
        else:
            next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            end = next_month - timedelta(days=1)
        end = min(end, until)
        result.append(Bucket(start=start, end=end, unit=unit))
        start = end + timedelta(days=1)
    return result


def trend_unit(days: int, *, finest: str = "week") -> str:
    """Days up to a month (when `finest` is "day"), weeks up to a quarter, then months."""
    if finest == "day" and days <= 31:
        return "day"
    return "week" if days <= 92 else "month"
