"""The customer 360 shows the customer's posts and cases (page and API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from customers.models import SocialIdentity
from social.ingestion import post_ingest_batch
from social.models import Post
from social.providers.base import ProviderAuthor, ProviderPost
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_360_lists_the_customers_posts_with_sentiment(partner: Callable[..., APIClient], agent: User) -> None:
    customer = CustomerFactory(first_name="Alice", last_name="Walker")
    SocialIdentity.objects.create(
        network="x", handle="alice_w", handle_normalized="alice_w", customer=customer, link_method="declared"
    )
    author = ProviderAuthor(external_id="100", handle="alice_w", name="Alice Walker")
    post = ProviderPost(network="x", external_id="1", author=author, text="My kettle broke. Awful.",
                        created_at=datetime(2026, 11, 2, 8, 30, tzinfo=UTC))  # fmt: skip
    post_ingest_batch(posts=[post], source=Post.Source.API)

    body = partner("customers:read").get(f"/api/v1/customers/{customer.pk}/").json()
    [shown] = body["recent_posts"]
    assert shown["created_at"].startswith("2026-11-02T") and shown["sentiment"]["label"] == "negative"
    assert [case["status"] for case in body["cases"]] == ["new"]

    client = Client()
    client.force_login(agent)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "My kettle broke. Awful." in page and "negative" in page
