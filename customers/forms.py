from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Network


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "placeholder": _("Name, e-mail, phone or @handle"),
                "autofocus": True,
                "type": "search",
            }
        ),
    )
    network = forms.ChoiceField(
        label=_("Network"), required=False, choices=[("", _("Any network")), *Network.choices]
    )


class CustomerEditForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    locale = forms.CharField(label=_("Locale"), max_length=10, required=False)
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    consent_marketing_email = forms.BooleanField(label=_("Marketing e-mails"), required=False)
    consent_social_autopost = forms.BooleanField(
        label=_("Automatic social posts on their behalf"), required=False
    )
    consent_data_processing = forms.BooleanField(label=_("Data processing"), required=False)


class ContactPointForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("email", _("e-mail")), ("phone", _("phone"))])
    value = forms.CharField(label=_("Value"), max_length=320)
    verified = forms.BooleanField(label=_("Verified"), required=False)
