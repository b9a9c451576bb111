"""Forms of the agent inbox, the case page and the SLA page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Network

from .models import Case, SlaTarget
from .selectors import INBOX_QUEUES, InboxFilters

BAND_CHOICES = [("", _("any priority")), ("high", _("high")), ("normal", _("normal")), ("low", _("low"))]


class InboxFilterForm(forms.Form):
    queue = forms.ChoiceField(
        choices=[(q, q) for q in INBOX_QUEUES], required=False, widget=forms.HiddenInput
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("post text, @handle or customer name")}
        ),
    )
    band = forms.ChoiceField(label=_("Priority"), choices=BAND_CHOICES, required=False)
    network = forms.ChoiceField(
        label=_("Network"), choices=[("", _("all networks")), *Network.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("any status")), *Case.Status.choices], required=False
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def queue_name(self) -> str:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("queue") or "open"

    def filters(self) -> InboxFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return InboxFilters(
            band=data.get("band") or "",
            network=data.get("network") or "",
            status=data.get("status") or "",
            overdue=bool(data.get("overdue")),
            search=data.get("q") or "",
        )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"), required=False, widget=forms.Textarea(attrs={"rows": 4, "id": "reply-text"})
    )
    key = forms.CharField(max_length=100, widget=forms.HiddenInput)


class SlaTargetForm(forms.Form):
    """One band's targets; the database refuses the same mistakes (check constraint)."""

    first_response_minutes = forms.IntegerField(label=_("First response within (minutes)"), min_value=1)
    resolution_minutes = forms.IntegerField(label=_("Resolution within (minutes)"), min_value=1)

    def __init__(self, *args: Any, band: str, **kwargs: Any) -> None:
        kwargs["prefix"] = band
        super().__init__(*args, **kwargs)
        self.band = band
        self.band_label = SlaTarget.Band(band).label

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, resolution = data.get("first_response_minutes"), data.get("resolution_minutes")
        if first is not None and resolution is not None and resolution < first:
            self.add_error(
                "resolution_minutes",
                _("Resolution cannot be due before the first response (%(first)d minutes).")
                % {"first": first},
            )
        return data
