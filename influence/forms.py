from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Network

from .models import SurveyKind


class SurveyAnswerForm(forms.Form):
    # The range is the service's to check (it knows the survey's kind and says why).
    score = forms.IntegerField(
        label=_("Score"), error_messages={"required": _("Choose a score."), "invalid": _("Choose a score.")}
    )
    comment = forms.CharField(
        label=_("Anything to add?"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


class InviteForm(forms.Form):
    kind = forms.ChoiceField(choices=SurveyKind.choices, initial=SurveyKind.CSAT, required=False)


class ServiceFilterForm(forms.Form):
    since = forms.DateField(
        label=_("Opened from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Opened until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    network = forms.ChoiceField(
        label=_("Network"), required=False, choices=[("", _("All networks")), *Network.choices]
    )

    def period(self) -> tuple[date | None, date | None, str]:
        """(since, until excluded, network); the last 30 days by default."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        until: date | None = data.get("until")
        since: date | None = data.get("since")
        if since is None and until is None:
            since = timezone.localdate() - timedelta(days=30)
        return since, until + timedelta(days=1) if until else None, data.get("network") or ""
