"""Forms of the social pages. They only read input; the services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Network

from .models import ConnectedAccount, ListeningRule, Post

# Credential fields per provider: (field, required). Ids are shown again; secrets never.
PROVIDER_CREDENTIALS: dict[str, tuple[str, ...]] = {
    ConnectedAccount.Provider.X: (
        "bearer_token",
        "consumer_key",
        "consumer_secret",
        "x_access_token",
        "access_token_secret",
        "account_id",
    ),
    ConnectedAccount.Provider.FACEBOOK: ("page_id", "fb_access_token", "app_secret"),
    ConnectedAccount.Provider.FAKE: (),
}
# Form field -> key in the stored credentials (X and Facebook both call theirs access_token).
CREDENTIAL_KEYS = {"x_access_token": "access_token", "fb_access_token": "access_token"}
PUBLIC_CREDENTIALS = frozenset({"account_id", "page_id"})
ALL_CREDENTIAL_FIELDS = frozenset(name for names in PROVIDER_CREDENTIALS.values() for name in names)


def _secret(label: Any, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class AccountForm(forms.Form):
    """Add or edit a connected account. Secret fields are write-only: empty keeps the
    stored value (the service merges), and a stored secret is never put back in the page."""

    name = forms.CharField(label=_("Name"), max_length=100)
    provider = forms.ChoiceField(label=_("Provider"), choices=ConnectedAccount.Provider.choices)
    handle = forms.CharField(
        label=_("Handle"), max_length=100, required=False, help_text=_("Filled in by “Test connection”.")
    )
    poll_interval_seconds = forms.IntegerField(
        label=_("Polling interval (seconds)"),
        min_value=1,
        initial=300,
        help_text=_("X access tiers allow different request rates; poll no faster than yours."),
    )
    monthly_post_cap = forms.IntegerField(
        label=_("Monthly post cap"),
        min_value=1,
        required=False,
        help_text=_("Posts your plan lets you read per month; polling stops when reached. Empty: no cap."),
    )
    # X
    bearer_token = _secret(_("Bearer token"), _("Required. The app's token, for listening."))
    consumer_key = _secret(_("API key"), _("Optional: to read mentions and answer as the brand."))
    consumer_secret = _secret(_("API key secret"))
    x_access_token = _secret(_("Access token"), _("Optional: the brand account's user token."))
    access_token_secret = _secret(_("Access token secret"))
    account_id = forms.CharField(
        label=_("Account id"),
        max_length=100,
        required=False,
        help_text=_("The brand account's id on X; “Test connection” can find it from the user tokens."),
    )
    # Facebook
    page_id = forms.CharField(label=_("Page id"), max_length=100, required=False)
    fb_access_token = _secret(_("Page access token"), _("Required. A long-lived Page access token."))
    app_secret = _secret(_("App secret"), _("Optional: every call then carries an appsecret_proof."))

    def __init__(self, *args: Any, account: ConnectedAccount | None = None, **kwargs: Any) -> None:
        self.account = account
        if account is not None:
            stored = account.credentials
            kwargs.setdefault(
                "initial",
                {
                    "name": account.name,
                    "provider": account.provider,
                    "handle": account.handle,
                    "poll_interval_seconds": account.poll_interval_seconds,
                    "monthly_post_cap": account.monthly_post_cap,
                    **{key: stored.get(key, "") for key in PUBLIC_CREDENTIALS},
                },
            )
        super().__init__(*args, **kwargs)
        if account is not None:
            # The provider decides what the credentials mean: it is chosen once.
            self.fields["provider"].disabled = True
            for name in self.credential_fields():
                field = self.fields[name]
                if name not in PUBLIC_CREDENTIALS:
                    stored_key = CREDENTIAL_KEYS.get(name, name)
                    field.help_text = (
                        _("Stored. Leave empty to keep it.") if stored_key in stored else _("Not set.")
                    )
            for name in ALL_CREDENTIAL_FIELDS - set(self.credential_fields()):
                del self.fields[name]
        self.fields["name"].widget.attrs["autofocus"] = True

    def credential_fields(self) -> tuple[str, ...]:
        """The credential fields of the account's provider (or of the one chosen)."""
        provider = self.account.provider if self.account else self.data.get("provider", "")
        return PROVIDER_CREDENTIALS.get(provider, ())

    def general_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in ALL_CREDENTIAL_FIELDS]

    def credential_groups(self) -> list[tuple[str, Any, list[forms.BoundField]]]:
        """(provider, its label, its bound fields) for the template's fieldsets."""
        labels = dict(ConnectedAccount.Provider.choices)
        return [
            (provider, labels[provider], [self[name] for name in names])
            for provider, names in PROVIDER_CREDENTIALS.items()
            if names and all(name in self.fields for name in names)
        ]

    def credentials(self) -> dict[str, str]:
        """The credentials typed for the chosen provider (empty ones left out)."""
        values: dict[str, str] = {}
        for name in self.credential_fields():
            value = (self.cleaned_data.get(name) or "").strip()
            if value:
                values[CREDENTIAL_KEYS.get(name, name)] = value
        return values


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=ListeningRule.Kind.choices,
        help_text=_("Competitor rules only count for share of voice; their posts never open a case."),
    )
    stream = forms.ChoiceField(label=_("Stream"), choices=ListeningRule.Stream.choices)
    account = forms.ModelChoiceField(
        label=_("Polled with"),
        queryset=ConnectedAccount.objects.order_by("name"),
        required=False,
        empty_label=_("No account: only sort pushed posts"),
    )
    keywords = forms.CharField(
        label=_("Keywords and phrases"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line or comma-separated."),
    )
    hashtags = forms.CharField(label=_("Hashtags"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    handles = forms.CharField(label=_("Handles"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    languages = forms.CharField(
        label=_("Languages"),
        required=False,
        help_text=_("Language codes such as en, fr. Empty: every language."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, rule: ListeningRule | None = None, **kwargs: Any) -> None:
        if rule is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": rule.name,
                    "kind": rule.kind,
                    "stream": rule.stream,
                    "account": rule.account_id,
                    "keywords": "\n".join(rule.keywords),
                    "hashtags": "\n".join(rule.hashtags),
                    "handles": "\n".join(rule.handles),
                    "languages": ", ".join(rule.languages),
                    "active": rule.active,
                },
            )
        super().__init__(*args, **kwargs)
        if rule is None:
            del self.fields["active"]

    def rule_fields(self) -> dict[str, Any]:
        """The keyword arguments of rule_create / rule_update (which split the terms)."""
        data = self.cleaned_data
        return {
            key: data[key]
            for key in ("name", "kind", "stream", "account", "keywords", "hashtags", "handles", "languages")
        }


def _network_choices() -> list[tuple[str, Any]]:
    return [("", _("Every network")), *Network.choices]


class ListeningFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    network = forms.ChoiceField(label=_("Network"), required=False, choices=_network_choices)
    rule = forms.ModelChoiceField(
        label=_("Rule"),
        required=False,
        queryset=ListeningRule.objects.order_by("kind", "name"),
        empty_label=_("The brand (every brand rule)"),
    )
    language = forms.CharField(
        label=_("Language"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"placeholder": _("any, or e.g. en"), "size": 8}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end comes before the start."))
        if since and until and (until - since).days > 366:
            self.add_error("since", _("Choose at most a year."))
        return data


class PostListFilterForm(forms.Form):
    """The fields of ListeningPostFilter a person types, with translated labels;
    the filter itself reads the same query string."""

    q = forms.CharField(
        label=_("Words in the text"), required=False, widget=forms.TextInput(attrs={"type": "search"})
    )
    network = forms.ChoiceField(label=_("Network"), required=False, choices=_network_choices)
    sentiment = forms.ChoiceField(
        label=_("Sentiment"), required=False, choices=[("", _("Any sentiment")), *Post.Label.choices]
    )
    language = forms.CharField(label=_("Language"), required=False, widget=forms.TextInput(attrs={"size": 6}))
    rule = forms.ModelChoiceField(
        label=_("Rule"),
        required=False,
        queryset=ListeningRule.objects.order_by("kind", "name"),
        empty_label=_("Any rule"),
    )
    kind = forms.ChoiceField(
        label=_("Matched"), required=False, choices=[("", _("Any kind")), *ListeningRule.Kind.choices]
    )
    flagged = forms.ChoiceField(
        label=_("Flagged"),
        required=False,
        choices=[("", _("Flagged or not")), ("true", _("flagged")), ("false", _("not flagged"))],
    )
