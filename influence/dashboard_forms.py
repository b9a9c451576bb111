"""The marketing dashboard's filters, read from the query string with a message per field."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Network

from .dashboard_filters import DEFAULT_PERIOD, DashboardFilters, period_window
from .dashboard_scores import NPS_CATEGORIES
from .models import Segment

MAX_DAYS = 3 * 366

PERIOD_CHOICES = [
    ("7", _("Last 7 days")),
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("quarter", _("This quarter")),
    ("custom", _("Custom dates")),
]


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"), choices=PERIOD_CHOICES, required=False, initial=DEFAULT_PERIOD
    )
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    network = forms.ChoiceField(
        label=_("Network"), required=False, choices=[("", _("All networks")), *Network.choices]
    )
    segment = forms.ChoiceField(
        label=_("Segment"), required=False, choices=[("", _("All segments")), *Segment.choices]
    )
    campaign = forms.CharField(label=_("Campaign"), required=False, max_length=100)

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.fields["campaign"].widget.attrs["list"] = "campaigns"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        period = data.get("period") or ("custom" if since or until else DEFAULT_PERIOD)
        if period == "custom":
            if "since" in self.errors or "until" in self.errors:
                return data
            until = until or self.today
            since = since or until - timedelta(days=int(DEFAULT_PERIOD) - 1)
            if since > until:
                self.add_error("until", _("The end date must be on or after the start date."))
            elif (until - since).days + 1 > MAX_DAYS:
                self.add_error("since", _("Choose a period of at most %(days)s days.") % {"days": MAX_DAYS})
        else:
            since, until = period_window(period, self.today)
        data.update(period=period, since=since, until=until, campaign=(data.get("campaign") or "").strip())
        return data

    def filters(self) -> DashboardFilters:
        """The filters of a valid form (call is_valid() first)."""
        data = self.cleaned_data
        return DashboardFilters(
            since=data["since"],
            until=data["until"],
            period=data["period"],
            network=data.get("network") or "",
            segment=data.get("segment") or "",
            campaign=data.get("campaign") or "",
        )


SORT_CHOICES = [
    ("-influence", _("Influence, highest first")),
    ("-clv", _("CLV, highest first")),
    ("-crv", _("CRV, highest first")),
    ("-sentiment", _("Sentiment index, highest first")),
    ("sentiment", _("Sentiment index, lowest first")),
    ("-referrals", _("Converted referrals, most first")),
    ("influence", _("Influence, lowest first")),
    ("clv", _("CLV, lowest first")),
    ("crv", _("CRV, lowest first")),
]


class ScoredCustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    segment = forms.ChoiceField(
        label=_("Segment"), required=False, choices=[("", _("All segments")), *Segment.choices]
    )
    network = forms.ChoiceField(
        label=_("Network"), required=False, choices=[("", _("All networks")), *Network.choices]
    )
    min_influence = forms.FloatField(
        label=_("Influence at least"), required=False, min_value=0, max_value=100
    )
    nps_category = forms.ChoiceField(
        label=_("NPS category"),
        required=False,
        choices=[
            ("", _("Any")),
            *zip(NPS_CATEGORIES, (_("promoter"), _("passive"), _("detractor")), strict=True),
        ],
    )
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)


class SurveyAnswerFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    segment = forms.ChoiceField(
        label=_("Segment"), required=False, choices=[("", _("All segments")), *Segment.choices]
    )
    campaign = forms.CharField(label=_("Campaign"), required=False, max_length=100)
    all = forms.BooleanField(label=_("Every answer (not only each customer's latest)"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date must be on or after the start date."))
        return data
