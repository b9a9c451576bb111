"""The demo's social data: accounts, rules, linked customers, posts within the last weeks."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from social.models import ConnectedAccount, ListeningRule, Post, PostRuleMatch

pytestmark = pytest.mark.django_db


def test_seed_social_loads_recent_linked_posts_once() -> None:
    out = StringIO()
    call_command("seed_social", posts=200, days=20, linked_people=10, stdout=out)
    assert "Demo social data" in out.getvalue()
    assert ConnectedAccount.objects.get().provider == "fake"
    assert set(ListeningRule.objects.values_list("kind", flat=True)) == {"brand", "competitor"}
    posts = Post.objects.count()
    assert posts > 100
    assert Post.objects.filter(author__customer__isnull=False).exists()
    assert PostRuleMatch.objects.filter(kind="competitor").exists()
    oldest = Post.objects.order_by("created_at").first()
    assert oldest is not None and oldest.created_at > timezone.now() - timedelta(days=22)

    call_command("seed_social", stdout=StringIO())
    assert Post.objects.count() == posts
