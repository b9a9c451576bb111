"""Shared fixtures: users per role, partner API clients with chosen scopes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from scrm.actors import Actor
from scrm.roles import ADMIN, AGENT, MARKETING, sync_roles
from scrm.services import api_key_create

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters and cached values must not leak between tests."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def roles(db: None) -> None:
    sync_roles()


@pytest.fixture
def make_user(roles: None) -> Callable[..., User]:
    def make(username: str, role: str) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD, first_name=username.title())
        if role == ADMIN:
            user.is_staff = user.is_superuser = True
            user.save()
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def agent(make_user: Callable[..., User]) -> User:
    return make_user("agent", AGENT)


@pytest.fixture
def marketer(make_user: Callable[..., User]) -> User:
    return make_user("marketer", MARKETING)


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user("boss", ADMIN)


@pytest.fixture
def partner(db: None) -> Callable[..., APIClient]:
    """`partner("customers:read", "customers:write")` -> an APIClient sending that key."""

    def make(*scopes: str, rate: int | None = None) -> APIClient:
        _key, plain = api_key_create(
            name=f"partner-{'-'.join(scopes) or 'none'}",
            scopes=list(scopes),
            rate_per_minute=rate,
            actor=Actor.system("test"),
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        client.api_key_plain = plain  # type: ignore[attr-defined]
        return client

    return make
