"""Normalisation of contact data: one spelling per e-mail, phone and handle."""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

HANDLE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message says why, for a person."""


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError as exc:
        raise InvalidValue(_("“%(value)s” is not a valid e-mail address.") % {"value": raw}) from exc
    return value


def region_for_locale(locale: str | None) -> str:
    """`fr-BE` -> BE; `fr` -> the default region."""
    if locale:
        parts = re.split(r"[-_]", locale)
        if len(parts) > 1 and len(parts[-1]) == 2:
            return parts[-1].upper()
    return str(settings.PHONE_DEFAULT_REGION)


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Any usual spelling of a phone number -> E.164 (`+33612345678`)."""
    text = (raw or "").strip()
    if not text:
        raise InvalidValue(_("A phone number cannot be empty."))
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or str(settings.PHONE_DEFAULT_REGION))
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(_("“%(value)s” is not a phone number.") % {"value": raw}) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(_("“%(value)s” is not a valid phone number.") % {"value": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return len(digits) >= 6 and bool(re.fullmatch(r"[\d\s+().\-/]+", text.strip()))


def normalize_handle(raw: str) -> str:
    """`@Jane_Doe ` -> `jane_doe`; handles compare case-insensitively."""
    value = (raw or "").strip().lstrip("@").strip()
    if not HANDLE_RE.match(value):
        raise InvalidValue(_("“%(value)s” is not a valid handle.") % {"value": raw})
    return value.lower()


def display_handle(raw: str) -> str:
    return (raw or "").strip().lstrip("@").strip()
