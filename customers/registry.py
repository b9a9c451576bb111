"""Where higher apps plug into the customer record without customers importing them.

`customer_360` sections: each app that owns data about a customer (posts, cases, scores,
loyalty) registers a section in its AppConfig.ready(); the 360 API and page show them.
The customers app registers an empty placeholder for each, replaced by the owner app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class Section:
    key: str  # key in the 360 API body
    title: str | Promise  # panel title on the page
    data: Callable[[Any], Any]  # customer -> JSON-serialisable data for the API
    template: str  # panel template; gets `customer` and `section` (the data)
    order: int = 100


_sections: dict[str, Section] = {}


def register_section(section: Section) -> None:
    """Add a section, or replace the one with the same key."""
    _sections[section.key] = section


def sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))


# --- rows owned by other apps that point at a customer -------------------------------
# A merge re-points them from the merged record to the survivor; undo points them back.
# Each app registers its own in AppConfig.ready(): register_customer_reference(
#     "social.Case", "customer").


@dataclass(frozen=True)
class CustomerReference:
    model: str  # "app_label.ModelName"
    field: str  # the foreign key to Customer
    # (survivor, other) -> a Q on the model: the rows of `other` that stay on the tombstone
    # because moving them would break a constraint (a pair that must stay unique, a row
    # that must not point twice at one customer). They are kept, never deleted.
    stays: Callable[[Any, Any], Any] | None = None


_references: dict[tuple[str, str], CustomerReference] = {}


def register_customer_reference(
    model: str, field: str = "customer", *, stays: Callable[[Any, Any], Any] | None = None
) -> None:
    _references[(model, field)] = CustomerReference(model=model, field=field, stays=stays)


def customer_references() -> list[CustomerReference]:
    return sorted(_references.values(), key=lambda r: (r.model, r.field))


# --- purchase hooks -------------------------------------------------------------------
# Apps that act on a new purchase (referral conversion, ...) register a callable
# `hook(*, purchase)` in AppConfig.ready(); customers.services.purchase_record calls each
# once the purchase is committed.

_purchase_hooks: list[Callable[..., object]] = []


def register_purchase_hook(hook: Callable[..., object]) -> None:
    """Add a hook called as `hook(purchase=purchase)` after a new purchase is committed."""
    if hook not in _purchase_hooks:
        _purchase_hooks.append(hook)


def purchase_hooks() -> list[Callable[..., object]]:
    return list(_purchase_hooks)
