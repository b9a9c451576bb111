"""`PersonRecord`: the flat, normalised view of a person that resolution compares."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from customers.models import Customer

_SPACES = re.compile(r"\s+")


def clean_text(value: str | None) -> str:
    """Lower-case, accents removed, spaces collapsed; None -> ""."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _SPACES.sub(" ", text).strip().lower()


def parse_compact_date(value: str | None) -> date | None:
    """`YYYYMMDD` or `YYYY-MM-DD` -> date; anything else (or an impossible date) -> None."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) != 8:
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One person as a source knows them. Text fields are cleaned (see `clean_text`), empty
    means unknown; emails are lower-cased, phones E.164, handles (network, normalised handle)."""

    id: str
    given_name: str = ""
    surname: str = ""
    date_of_birth: date | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    postcode: str = ""
    city: str = ""
    street: str = ""
    street_number: str = ""
    locality: str = ""
    state: str = ""
    handles: tuple[tuple[str, str], ...] = ()
    national_id: str = ""

    @classmethod
    def from_customer(cls, customer: Customer) -> PersonRecord:
        """Read a Customer whose contact_points, social_identities and external_ids are
        prefetched (no query is made when they are). The national id comes from the
        `national_id` attribute, if any; the first postal address gives the address."""
        points = list(customer.contact_points.all())
        postal: dict[str, str] = next((p.details for p in points if p.kind == "postal" and p.details), {})
        return cls(
            id=str(customer.pk),
            given_name=clean_text(customer.first_name),
            surname=clean_text(customer.last_name),
            date_of_birth=customer.date_of_birth,
            emails=tuple(p.value for p in points if p.kind == "email"),
            phones=tuple(p.value for p in points if p.kind == "phone"),
            postcode=clean_text(postal.get("postcode")).replace(" ", ""),
            city=clean_text(postal.get("city")),
            street=clean_text(postal.get("street")),
            national_id=clean_text(str(customer.attributes.get("national_id") or "")),
            handles=tuple(
                (s.network, s.handle_normalized)
                for s in customer.social_identities.all()
                if s.handle_normalized
            ),
        )
