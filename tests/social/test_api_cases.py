"""The cases list of the partner API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from social.models import Case
from tests.factories import SocialIdentityFactory

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def case(conversation: str, priority: int, opened_minutes: int = 0, **fields: object) -> Case:
    opened = T0 + timedelta(minutes=opened_minutes)
    values = {
        "network": "x", "conversation": conversation, "priority": priority, "opened_at": opened,
        "last_post_at": opened, "reasons": ["negative"], "priority_reasons": ["sentiment -0.8"],
    }  # fmt: skip
    values.update(fields)
    return Case.objects.create(**values)


@pytest.fixture
def cases(agent):
    linked = SocialIdentityFactory(network="x", handle="marie_lfv", display_name="Marie", followers_count=10)
    return {
        "urgent": case("1", 90, author=linked, assignee=agent),
        "old": case("2", 40, opened_minutes=0, network="facebook", status=Case.Status.OPEN),
        "young": case("3", 40, opened_minutes=5),
        "done": case("4", 10, status=Case.Status.RESOLVED, resolved_at=T0 + timedelta(hours=1)),
        "identity": linked,
    }


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_scopes(partner):
    assert APIClient().get(CASES).status_code == 401
    assert partner("customers:read").get(CASES).status_code == 403
    assert partner("social:write").get(CASES).status_code == 403
    assert partner("social:read").get(CASES).status_code == 200


def test_priority_first_then_oldest_with_every_field(partner, cases):
    response = partner("social:read").get(CASES)
    order = [cases[name].pk for name in ("urgent", "old", "young", "done")]
    assert ids(response) == order
    urgent = response.json()["results"][0]
    assert urgent["customer"] == cases["identity"].customer_id
    assert urgent["author"] == {"id": cases["identity"].pk, "handle": "marie_lfv", "name": "Marie",
                                "followers": 10}  # fmt: skip
    assert (urgent["status"], urgent["priority"], urgent["reasons"]) == ("new", 90, ["negative"])
    assert urgent["priority_reasons"] == ["sentiment -0.8"] and urgent["assignee"] is not None
    assert set(urgent) >= {"network", "conversation", "post_count", "opened_at", "last_post_at",
                           "first_response_at", "resolved_at"}  # fmt: skip
    unlinked = response.json()["results"][1]
    assert unlinked["author"] is None and unlinked["customer"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "new"}, ["urgent", "young"]),
        ({"status": ["open", "resolved"]}, ["old", "done"]),
        ({"network": "facebook"}, ["old"]),
        ({"min_priority": 40}, ["urgent", "old", "young"]),
        ({"unassigned": "false"}, ["urgent"]),
    ],
)
def test_filters(partner, cases, query, expected):
    assert ids(partner("social:read").get(CASES, query)) == [cases[name].pk for name in expected]


def test_filter_by_assignee(partner, cases, agent):
    assert ids(partner("social:read").get(CASES, {"assignee": agent.pk})) == [cases["urgent"].pk]


def test_invalid_filter_is_a_400(partner, cases):
    response = partner("social:read").get(CASES, {"status": "lost", "min_priority": "high"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "min_priority"}


def test_agents_read_cases_with_their_session(agent, cases):
    client = APIClient()
    client.force_login(agent)
    assert client.get(CASES).json()["count"] == 4
