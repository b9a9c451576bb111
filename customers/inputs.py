"""What callers say about a customer, and its validation before anything is written.

Input from the API, the pages, imports and the demo arrives as a `CustomerData`; `prepare`
normalises e-mails, phones and handles and reports every bad field at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext

from .errors import ValidationFailed
from .models import Network
from .normalize import (
    InvalidValue,
    display_handle,
    normalize_email,
    normalize_handle,
    normalize_phone,
    region_for_locale,
)

CONSENT_PURPOSES = ("marketing_email", "social_autopost", "data_processing")
SCALAR_FIELDS = ("first_name", "last_name", "locale", "date_of_birth")


@dataclass
class ContactInput:
    value: str
    verified: bool = True
    primary: bool = False


@dataclass
class SocialInput:
    network: str
    handle: str = ""
    external_id: str | None = None


@dataclass
class AddressInput:
    street: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""


@dataclass
class CustomerData:
    """What a caller knows about a customer. None / empty means "not given"."""

    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    date_of_birth: date | None = None
    emails: list[ContactInput] = field(default_factory=list)
    phones: list[ContactInput] = field(default_factory=list)
    addresses: list[AddressInput] = field(default_factory=list)
    external_ids: dict[str, str] = field(default_factory=dict)
    social: list[SocialInput] = field(default_factory=list)
    consent: dict[str, bool] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = "api"


@dataclass
class Prepared:
    data: CustomerData
    emails: list[tuple[str, str, ContactInput]]  # (normalised, raw, input)
    phones: list[tuple[str, str, ContactInput]]
    social: list[tuple[str, str, str, str | None]]  # (network, normalised, display, external id)


def prepare(data: CustomerData) -> Prepared:
    errors: dict[str, list[str]] = {}
    emails, phones, social = [], [], []
    region = region_for_locale(data.locale)
    for item in data.emails:
        try:
            emails.append((normalize_email(item.value), item.value, item))
        except InvalidValue as exc:
            errors.setdefault("emails", []).append(str(exc))
    for item in data.phones:
        try:
            phones.append((normalize_phone(item.value, region=region), item.value, item))
        except InvalidValue as exc:
            errors.setdefault("phones", []).append(str(exc))
    for s in data.social:
        if s.network not in Network.values:
            errors.setdefault("social", []).append(
                gettext("Unknown network “%(network)s”. Known: %(known)s.")
                % {"network": s.network, "known": ", ".join(Network.values)}
            )
            continue
        try:
            social.append((s.network, normalize_handle(s.handle), display_handle(s.handle), s.external_id))
        except InvalidValue as exc:
            errors.setdefault("social", []).append(str(exc))
    for purpose in data.consent:
        if purpose not in CONSENT_PURPOSES:
            errors.setdefault("consent", []).append(
                gettext("Unknown consent “%(purpose)s”. Known: %(known)s.")
                % {"purpose": purpose, "known": ", ".join(CONSENT_PURPOSES)}
            )
    for source, value in data.external_ids.items():
        if not str(source).strip() or not str(value).strip():
            errors.setdefault("external_ids", []).append(gettext("Source and id must both be non-empty."))
        elif len(str(source)) > 50 or len(str(value)) > 200:
            errors.setdefault("external_ids", []).append(
                gettext("%(source)s: source or id too long.") % {"source": source}
            )
    has_name = bool((data.first_name or "").strip() or (data.last_name or "").strip())
    if not (has_name or emails or phones or social or data.external_ids or errors):
        errors["non_field_errors"] = [gettext("Give at least a name, an e-mail, a phone or a social handle.")]
    if errors:
        raise ValidationFailed(errors)
    return Prepared(data=data, emails=emails, phones=phones, social=social)


def prepare_partial(data: CustomerData) -> Prepared:
    # A partial update may carry a single field (say, consent), so "give a name or a
    # contact" does not apply: validate with a placeholder name, then drop it.
    probe = CustomerData(**{**data.__dict__, "first_name": data.first_name or "-"})
    prepared = prepare(probe)
    prepared.data = data
    return prepared
