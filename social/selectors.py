"""Reads of posts, cases and listening figures."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from customers.models import Customer

from .models import Case, Post


def posts_of_customer(*, customer: Customer) -> QuerySet[Post]:
    """Every post written through one of the customer's identities, newest first."""
    return Post.objects.filter(author__customer=customer).order_by("-created_at", "-id")


def cases_of_customer(*, customer: Customer) -> QuerySet[Case]:
    return Case.objects.filter(author__customer=customer).order_by("-opened_at", "-id")


def post_as_dict(post: Post) -> dict[str, Any]:
    """A post as the API and the 360 show it."""
    return {
        "id": post.pk,
        "network": post.network,
        "external_id": post.external_id,
        "text": post.text,
        "url": post.url,
        "created_at": post.created_at.isoformat(),
        "language": post.language or None,
        "sentiment": {"compound": round(post.sentiment, 4), "label": post.sentiment_label},
        "flagged": post.flagged,
        "case": post.case_id,
    }
