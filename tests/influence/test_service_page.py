"""The service metrics page: who sees it, filters, figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from social.models import Case
from tests.factories import SocialIdentityFactory

pytestmark = pytest.mark.django_db


def test_marketing_and_admins_only(client: Client, agent, marketer, admin_user) -> None:
    client.force_login(agent)
    assert client.get("/insights/service/").status_code == 403
    assert b"/insights/service/" not in client.get("/").content
    for user in (marketer, admin_user):
        client.force_login(user)
        page = client.get("/insights/service/")
        assert page.status_code == 200 and b"Recovery rate" in page.content
        assert b'href="/insights/service/"' in page.content  # navigation entry


def test_figures_follow_the_filters(client: Client, marketer, agent) -> None:
    opened = timezone.now() - timedelta(days=2)
    for network, first in (("x", 12), ("facebook", 90)):
        Case.objects.create(
            network=network,
            conversation=network,
            author=SocialIdentityFactory(network=network),
            opened_at=opened,
            last_post_at=opened,
            first_response_at=opened + timedelta(minutes=first),
            assignee=agent,
        )
    client.force_login(marketer)
    page = client.get("/insights/service/").content.decode()
    assert "2 cases opened in the period" in page and 'id="service-by-agent"' in page
    x_only = client.get(
        "/insights/service/", {"network": "x"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in x_only and "1 case opened in the period" in x_only and "12 min" in x_only
    old = (timezone.localdate() - timedelta(days=90)).isoformat()
    empty = client.get("/insights/service/", {"since": old, "until": old}).content.decode()
    assert "0 cases opened in the period" in empty and "No case in this period." in empty
