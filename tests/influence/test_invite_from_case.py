"""The case page offers a survey link for the case's customer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from social.ingestion import post_ingest_batch
from social.models import Case, Post
from social.providers.base import ProviderAuthor, ProviderPost

pytestmark = pytest.mark.django_db


def test_agent_gets_a_survey_link_from_the_case_page(agent: User) -> None:
    author = ProviderAuthor(external_id="100", handle="alice_w", name="Alice Walker")
    post = ProviderPost(network="x", external_id="1", author=author, text="Refund? Terrible service.",
                        created_at=datetime(2026, 11, 2, tzinfo=UTC))  # fmt: skip
    post_ingest_batch(posts=[post], source=Post.Source.API)
    case = Case.objects.get()
    client = Client()
    client.force_login(agent)
    page = client.get(f"/social/cases/{case.pk}/").content.decode()
    assert f'action="/surveys/invite/{case.pk}/"' in page
    answer = client.post(f"/surveys/invite/{case.pk}/", {"kind": "nps"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 201
    assert "/s/" in answer.content.decode()
