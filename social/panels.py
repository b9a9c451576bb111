"""The social panels of the customer 360: their posts and their cases."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.registry import Section, register_section

from .selectors import cases_of_customer, post_as_dict, posts_of_customer

RECENT_POSTS = 10
RECENT_CASES = 10


def recent_posts(customer: Customer) -> list[dict[str, Any]]:
    return [post_as_dict(post) for post in posts_of_customer(customer=customer)[:RECENT_POSTS]]


def recent_cases(customer: Customer) -> list[dict[str, Any]]:
    return [
        {
            "id": case.pk,
            "network": case.network,
            "status": case.status,
            "priority": case.priority,
            "reasons": case.reasons,
            "opened_at": case.opened_at,
            "resolved_at": case.resolved_at,
            "post_count": case.post_count,
        }
        for case in cases_of_customer(customer=customer)[:RECENT_CASES]
    ]


def register() -> None:
    register_section(
        Section(
            key="recent_posts",
            title=_("Posts"),
            data=recent_posts,
            template="social/panels/posts.html",
            order=10,
        )
    )
    register_section(
        Section(
            key="cases", title=_("Cases"), data=recent_cases, template="social/panels/cases.html", order=20
        )
    )
