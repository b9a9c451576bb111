from django import forms
from django.utils.translation import gettext_lazy as _

from .errors import DomainError
from .models import API_SCOPES


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=[(s, s) for s in API_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )
    rate_per_minute = forms.IntegerField(
        label=_("Requests per minute"),
        required=False,
        min_value=1,
        help_text=_("Leave empty for the default."),
    )


def add_domain_errors(form: forms.Form, error: DomainError, *, onto: str | None = None) -> None:
    """Show a service's refusal on the form: each message under its field when the form
    has that field (or under `onto` when given), otherwise above the form."""
    messages = error.field_errors or {"": [error.message]}
    for field, texts in messages.items():
        target = onto or (field if field in form.fields else None)
        for text in texts:
            form.add_error(target, text)
