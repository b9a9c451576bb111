"""Service metrics (docs/metrics.md, "Service"): first response and resolution times
(median, p90), SLA met %, response rate and recovery rate, each with its n, overall and
per agent, network and ISO week.

Two queries feed everything: one row per case (times, due times, and whether it is a
negative resolved case that recovered, computed in SQL with EXISTS subqueries) and one
row per flagged post. Percentiles are computed in Python from those rows, the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from social.models import Case, ListeningRule, Post, PostRuleMatch, Reply

from .models import SurveyKind, SurveyResponse

NEGATIVE = Post.Label.NEGATIVE


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Durations:
    """Durations in minutes."""

    n: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, minutes: list[float]) -> Durations:
        return cls(n=len(minutes), median=percentile(minutes, 0.5), p90=percentile(minutes, 0.9))


@dataclass(frozen=True)
class Rate:
    hits: int
    n: int

    @property
    def percent(self) -> float | None:
        return 100 * self.hits / self.n if self.n else None


@dataclass(frozen=True)
class ServiceFigures:
    cases: int
    first_response: Durations
    resolution: Durations
    first_response_sla: Rate
    resolution_sla: Rate
    response_rate: Rate
    recovery: Rate


@dataclass(frozen=True)
class ServiceReport:
    overall: ServiceFigures
    by_agent: list[tuple[str, ServiceFigures]] = field(default_factory=list)
    by_network: list[tuple[str, ServiceFigures]] = field(default_factory=list)
    by_week: list[tuple[str, ServiceFigures]] = field(default_factory=list)


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def _about_brand(post_ref: str = "pk") -> Q:
    """A post is about the brand unless it matched only competitor rules."""
    matches = PostRuleMatch.objects.filter(post=OuterRef(post_ref))
    competitor = Exists(matches.filter(kind=ListeningRule.Kind.COMPETITOR))
    brand = Exists(matches.filter(kind=ListeningRule.Kind.BRAND))
    return ~competitor | brand


def cases_with_recovery(
    *, since: datetime | None = None, until: datetime | None = None, network: str = ""
) -> QuerySet[Any]:
    """Cases opened in [since, until) annotated with `negative` (one of the customer's posts
    in it is negative) and `recovered` (resolved, then the customer - through any of their
    identities, or the same author when not linked - posted non-negatively about the brand,
    not as the brand, or answered CSAT 4-5 / NPS 9-10)."""
    cases = Case.objects.all()
    if since:
        cases = cases.filter(opened_at__gte=since)
    if until:
        cases = cases.filter(opened_at__lt=until)
    if network:
        cases = cases.filter(network=network)
    negative = Exists(Post.objects.filter(case=OuterRef("pk"), from_brand=False, sentiment_label=NEGATIVE))
    later_posts = (
        Post.objects.filter(created_at__gt=OuterRef("resolved_at"), from_brand=False)
        .exclude(sentiment_label=NEGATIVE)
        .filter(Q(author_id=OuterRef("author_id")) | Q(author__customer_id=OuterRef("author__customer_id")))
        .filter(_about_brand())
    )
    satisfied = SurveyResponse.objects.filter(answered_at__gt=OuterRef("resolved_at")).filter(
        Q(kind=SurveyKind.CSAT, score__gte=4) | Q(kind=SurveyKind.NPS, score__gte=9)
    )
    later_answers = satisfied.filter(
        Q(customer_id=OuterRef("author__customer_id")) | Q(case_id=OuterRef("pk"))
    )
    return cases.annotate(
        negative=negative,
        recovered_by_post=Exists(later_posts),
        recovered_by_survey=Exists(later_answers),
    )


def _case_rows(**filters: Any) -> list[dict[str, Any]]:
    return list(
        cases_with_recovery(**filters).values(
            "pk",
            "network",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "first_response_due_at",
            "resolution_due_at",
            "negative",
            "recovered_by_post",
            "recovered_by_survey",
            agent=F("assignee__username"),
        )
    )


def _flagged_post_rows(
    *, since: datetime | None = None, until: datetime | None = None, network: str = ""
) -> list[dict[str, Any]]:
    """Flagged posts of cases opened in the period; answered when the case got a sent
    reply or a first response."""
    posts = Post.objects.filter(flagged=True)
    if since:
        posts = posts.filter(case__opened_at__gte=since)
    if until:
        posts = posts.filter(case__opened_at__lt=until)
    if network:
        posts = posts.filter(network=network)
    sent = Exists(Reply.objects.filter(case=OuterRef("case_id"), status=Reply.Status.SENT))
    return list(
        posts.annotate(answered_reply=sent).values(
            "pk",
            "network",
            "answered_reply",
            opened_at=F("case__opened_at"),
            first_response_at=F("case__first_response_at"),
            agent=F("case__assignee__username"),
        )
    )


def _sla(rows: Iterable[dict[str, Any]], done: str, due: str, now: datetime) -> Rate:
    """Met when done by the due time; missed when done late or still not done after it;
    not counted while it is not done and not yet due."""
    hits = n = 0
    for row in rows:
        if row[due] is None:
            continue
        if row[done] is None and row[due] > now:
            continue
        n += 1
        hits += row[done] is not None and row[done] <= row[due]
    return Rate(hits=hits, n=n)


def recovery_rate(cases: Iterable[dict[str, Any]]) -> Rate:
    eligible = [c for c in cases if c["negative"] and c["resolved_at"] is not None]
    return Rate(
        hits=sum(1 for c in eligible if c["recovered_by_post"] or c["recovered_by_survey"]), n=len(eligible)
    )


def figures(cases: list[dict[str, Any]], posts: list[dict[str, Any]], now: datetime) -> ServiceFigures:
    first = [_minutes(c["opened_at"], c["first_response_at"]) for c in cases if c["first_response_at"]]
    resolved = [_minutes(c["opened_at"], c["resolved_at"]) for c in cases if c["resolved_at"]]
    answered = sum(1 for p in posts if p["answered_reply"] or p["first_response_at"] is not None)
    return ServiceFigures(
        cases=len(cases),
        first_response=Durations.of(first),
        resolution=Durations.of(resolved),
        first_response_sla=_sla(cases, "first_response_at", "first_response_due_at", now),
        resolution_sla=_sla(cases, "resolved_at", "resolution_due_at", now),
        response_rate=Rate(hits=answered, n=len(posts)),
        recovery=recovery_rate(cases),
    )


def _iso_week(row: dict[str, Any]) -> str:
    year, week, _day = row["opened_at"].isocalendar()
    return f"{year}-W{week:02d}"


def _grouped(
    cases: list[dict[str, Any]],
    posts: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], str],
    now: datetime,
) -> list[tuple[str, ServiceFigures]]:
    case_groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    post_groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in cases:
        case_groups[key(row)].append(row)
    for row in posts:
        post_groups[key(row)].append(row)
    names = sorted(set(case_groups) | set(post_groups))
    return [(name, figures(case_groups[name], post_groups[name], now)) for name in names]


def service_report(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    network: str = "",
    now: datetime | None = None,
) -> ServiceReport:
    """Everything the service page shows, for cases opened in [since, until)."""
    now = now or timezone.now()
    filters: dict[str, Any] = {"since": since, "until": until, "network": network}
    cases, posts = _case_rows(**filters), _flagged_post_rows(**filters)
    return ServiceReport(
        overall=figures(cases, posts, now),
        by_agent=_grouped(cases, posts, lambda row: row["agent"] or "", now),
        by_network=_grouped(cases, posts, lambda row: row["network"], now),
        by_week=_grouped(cases, posts, _iso_week, now),
    )
