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
