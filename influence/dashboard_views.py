"""The marketing dashboard (`/insights/`), the scored customers list and the NPS answers
behind the dashboard's figures. Every chart point links to the customers or posts it
counts; every list exports as CSV (`?format=csv`) with the same filters."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from scrm.exports import csv_response, wants_csv
from social.models import ListeningRule

from .dashboard import Dashboard, dashboard, nps_answers
from .dashboard_filters import Bucket, DashboardFilters, day_start, default_filters
from .dashboard_forms import DashboardFilterForm, ScoredCustomerFilterForm, SurveyAnswerFilterForm
from .dashboard_scores import scored_customers
from .models import Segment
from .selectors import latest_run, nps_category

VIEW_DASHBOARD = "influence.view_surveyresponse"
PAGE_SIZE = 25


def _url(path: str, **query: Any) -> str:
    cleaned = {key: value for key, value in query.items() if value not in ("", None)}
    return f"{path}?{urlencode(cleaned)}" if cleaned else path


def _referrals_path() -> str:
    try:
        return reverse("influence:referrals")
    except NoReverseMatch:  # the referrals list arrives with its own module
        return "/insights/referrals/"


def posts_query(filters: DashboardFilters, since: date, until: date, **more: Any) -> dict[str, Any]:
    """The posts list's filters for the posts a rollup figure of days since..until counts:
    brand posts (or `more`'s kind / rule), without the brand's own."""
    query: dict[str, Any] = {
        "since": day_start(since).isoformat(),
        "until": day_start(until + timedelta(days=1)).isoformat(),
        "from_brand": "false",
        "network": filters.network,
        "segment": filters.segment,
        "campaign": filters.campaign,
    }
    if "rule" not in more:
        query["kind"] = ListeningRule.Kind.BRAND
    return {**query, **more}


def _posts_url(filters: DashboardFilters, since: date, until: date, **more: Any) -> str:
    return _url(reverse("social:posts"), **posts_query(filters, since, until, **more))


def _answers_url(filters: DashboardFilters, bucket: Bucket | None = None) -> str:
    since, until = (bucket.start, bucket.end) if bucket else (filters.since, filters.until)
    return _url(
        reverse("influence:survey-answers"),
        since=since.isoformat(),
        until=until.isoformat(),
        segment=filters.segment,
        campaign=filters.campaign,
    )


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def chart_data(board: Dashboard) -> dict[str, Any]:
    """What static/js/dashboard.js draws, each point with the link it opens."""
    filters = board.filters
    nps = board.nps
    sentiment = board.sentiment
    voice = board.voice
    data: dict[str, Any] = {
        "nps": {
            "labels": [p.bucket.label for p in nps.trend],
            "values": [_round(p.summary.nps) for p in nps.trend],
            "low": [_round(p.summary.ci_low) for p in nps.trend],
            "high": [_round(p.summary.ci_high) for p in nps.trend],
            "n": [p.summary.n for p in nps.trend],
            "indicative": [p.summary.indicative for p in nps.trend],
            "urls": [_answers_url(filters, p.bucket) for p in nps.trend],
        },
        "sentiment": {
            "labels": [p.bucket.label for p in sentiment.trend],
            "values": [_round(p.split.index) for p in sentiment.trend],
            "n": [p.split.total for p in sentiment.trend],
            "urls": [_posts_url(filters, p.bucket.start, p.bucket.end) for p in sentiment.trend],
        },
        "voice": {
            "labels": [_("Brand")] + [str(share.rule) for share in voice.by_competitor],
            "values": [voice.overall.brand] + [share.competitor for share in voice.by_competitor],
            "urls": [_posts_url(filters, filters.since, filters.until)]
            + [
                _posts_url(filters, filters.since, filters.until, rule=share.rule.pk)
                for share in voice.by_competitor
                if share.rule is not None
            ],
        },
        "labels": {
            "nps": _("NPS (surveys)"),
            "interval": _("interval (95 %)"),
            "sentiment": _("Sentiment index (inferred from public posts, not NPS)"),
            "posts": _("posts"),
            "answers": _("answers"),
            "indicative": _("indicative: n < 30"),
            "clv": _("CLV"),
            "crv": _("CRV"),
            "customers": _("customers"),
        },
    }
    if board.scores is not None:
        quadrants = board.scores.quadrants
        customers = reverse("influence:customers")
        data["quadrants"] = {
            "labels": [str(Segment(s).label) for s in Segment.values],
            "segments": list(Segment.values),
            "values": [quadrants.counts[s] for s in Segment.values],
            "urls": [_url(customers, segment=s) for s in Segment.values],
        }
        data["scatter"] = {
            "points": [
                {"x": p["clv"], "y": p["crv"], "c": p["customer"], "s": p["segment"]}
                for p in quadrants.points
            ],
            "customer_url": reverse("customers:detail", args=[0]),
            "clv_threshold": quadrants.clv_threshold,
            "crv_threshold": quadrants.crv_threshold,
            "segments": list(Segment.values),
            "segment_labels": [str(Segment(s).label) for s in Segment.values],
        }
    return data


@login_required
@permission_required(VIEW_DASHBOARD, raise_exception=True)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        invalid = {"form": form, "board": None, "filters": default_filters()}
        return render(request, "influence/dashboard.html", invalid, status=400)
    filters = form.filters() if form.is_bound else default_filters()
    board = dashboard(filters)
    customers = reverse("influence:customers")
    referrals = _referrals_path()
    period = {"since": filters.since.isoformat(), "until": filters.until.isoformat()}
    voice = board.voice
    context: dict[str, Any] = {
        "form": form,
        "filters": filters,
        "board": board,
        "chart_data": chart_data(board),
        "currency": settings.REPORTING_CURRENCY,
        "campaigns": sorted({*board.campaigns, *([filters.campaign] if filters.campaign else [])}),
        "links": {
            "answers": _answers_url(filters),
            "brand_posts": _posts_url(filters, filters.since, filters.until),
            "competitor_posts": _posts_url(
                filters, filters.since, filters.until, kind=ListeningRule.Kind.COMPETITOR
            ),
            "positive": _posts_url(filters, filters.since, filters.until, sentiment="positive"),
            "negative": _posts_url(filters, filters.since, filters.until, sentiment="negative"),
            "customers": _url(customers, segment=filters.segment),
            "referrals": _url(referrals, **period, campaign=filters.campaign),
            "converted": _url(referrals, **period, campaign=filters.campaign, converted="true"),
        },
        "nps_points": [{"point": p, "url": _answers_url(filters, p.bucket)} for p in board.nps.trend],
        "sentiment_points": [
            {"point": p, "url": _posts_url(filters, p.bucket.start, p.bucket.end)}
            for p in board.sentiment.trend
        ],
        "competitors": [
            {
                "share": share,
                "url": _posts_url(filters, filters.since, filters.until, rule=share.rule.pk)
                if share.rule
                else "",
            }
            for share in voice.by_competitor
        ],
        "quadrants": [
            {
                "segment": segment,
                "label": Segment(segment).label,
                "count": board.scores.quadrants.counts[segment],
                "url": _url(customers, segment=segment),
            }
            for segment in Segment.values
        ]
        if board.scores
        else [],
    }
    return render(request, "influence/dashboard.html", context)


# --- scored customers ---------------------------------------------------------------------


def _money(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


@login_required
@permission_required(VIEW_DASHBOARD, raise_exception=True)
def scored_customers_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = ScoredCustomerFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and valid else {}
    run = latest_run()
    snapshots = (
        scored_customers(
            run=run,
            segment=data.get("segment") or "",
            network=data.get("network") or "",
            min_influence=data.get("min_influence"),
            nps_category=data.get("nps_category") or "",
            q=data.get("q") or "",
            sort=data.get("sort") or "-influence",
        )
        if run is not None and valid
        else None
    )
    if snapshots is not None and wants_csv(request):
        if not request.user.has_perm("customers.export_customer"):
            return render(request, "403.html", status=403)
        header = [
            _("customer"), _("name"), _("segment"), _("influence"), _("CLV"), _("CRV"),
            _("referrals"), _("converted referrals"), _("sentiment index"), _("sentiment posts"),
            _("NPS category"), _("as of"),
        ]  # fmt: skip
        rows = (
            [
                s.customer_id,
                s.customer.full_name,
                s.segment,
                s.influence,
                _money(s.clv),
                _money(s.crv),
                s.referrals,
                s.referrals_converted,
                s.sentiment_index,
                s.sentiment_posts,
                s.nps_category,
                s.as_of.isoformat(),
            ]
            for s in snapshots.iterator(chunk_size=2000)
        )
        return csv_response("scored-customers", header, rows)
    page = (
        Paginator(snapshots, PAGE_SIZE).get_page(request.GET.get("page")) if snapshots is not None else None
    )
    context = {
        "form": form,
        "run": run,
        "page": page,
        "csv_url": _url(request.path, **{**request.GET.dict(), "format": "csv", "page": ""}),
        "segments": dict(Segment.choices),
    }
    return render(request, "influence/scored_customers.html", context, status=200 if valid else 400)


# --- NPS answers --------------------------------------------------------------------------


@login_required
@permission_required(VIEW_DASHBOARD, raise_exception=True)
def survey_answers_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The NPS answers a dashboard figure counts (each customer's latest in the period,
    unless every answer is asked for)."""
    form = SurveyAnswerFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    if not valid:
        return render(request, "influence/dashboard_answers.html", {"form": form, "page": None}, status=400)
    defaults = default_filters()
    data = form.cleaned_data if form.is_bound else {}
    answers = nps_answers(
        since=data.get("since") or defaults.since,
        until=data.get("until") or defaults.until,
        segment=data.get("segment") or "",
        campaign=(data.get("campaign") or "").strip(),
        all_answers=bool(data.get("all")),
    )
    if wants_csv(request):
        header = [
            _("answered"), _("score"), _("category"), _("customer"), _("name"), _("segment"), _("channel"),
            _("campaign"), _("comment"),
        ]  # fmt: skip
        rows = (
            [
                a.answered_at.isoformat(),
                a.score,
                nps_category(a.score),
                a.customer_id,
                a.customer.full_name if a.customer else "",
                a.customer.segment if a.customer else "",
                a.channel,
                a.campaign,
                a.comment,
            ]
            for a in answers.iterator(chunk_size=2000)
        )
        return csv_response("nps-answers", header, rows)
    page = Paginator(answers, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "csv_url": _url(request.path, **{**request.GET.dict(), "format": "csv", "page": ""}),
    }
    return render(request, "influence/dashboard_answers.html", context)
