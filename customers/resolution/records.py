"""`PersonRecord`: the flat, normalised view of a person that resolution compares."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

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
        """Read a Customer whose contact_points and social_identities are prefetched (no
        query is made when they are)."""
        return cls.from_values(
            customer_id=customer.pk,
            first_name=customer.first_name,
            last_name=customer.last_name,
            date_of_birth=customer.date_of_birth,
            attributes=customer.attributes,
            points=[(p.kind, p.value, p.details) for p in customer.contact_points.all()],
            handles=[(s.network, s.handle_normalized) for s in customer.social_identities.all()],
        )

    @classmethod
    def from_values(
        cls,
        *,
        customer_id: int,
        first_name: str,
        last_name: str,
        date_of_birth: date | None,
        attributes: dict[str, Any],
        points: list[tuple[str, str, dict[str, str]]],
        handles: list[tuple[str, str]],
    ) -> PersonRecord:
        """Build from plain values: `points` are (kind, value, details) contact points,
        `handles` (network, normalised handle). The national id comes from the
        `national_id` attribute, if any; the first postal address gives the address."""
        postal: dict[str, str] = next((d for kind, _, d in points if kind == "postal" and d), {})
        return cls(
            id=str(customer_id),
            given_name=clean_text(first_name),
            surname=clean_text(last_name),
            date_of_birth=date_of_birth,
            emails=tuple(v for kind, v, _ in points if kind == "email"),
            phones=tuple(v for kind, v, _ in points if kind == "phone"),
            postcode=clean_text(postal.get("postcode")).replace(" ", ""),
            city=clean_text(postal.get("city")),
            street=clean_text(postal.get("street")),
            national_id=clean_text(str((attributes or {}).get("national_id") or "")),
            handles=tuple((network, handle) for network, handle in handles if handle),
        )
