"""A cached object pickled by another release must read as a miss, not fail the page."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from scrm.caching import cached_instance


class Kept:
    pass


def test_a_value_of_the_right_kind_comes_back() -> None:
    cache.set("kept", Kept(), 60)
    assert isinstance(cached_instance("kept", Kept), Kept)
    assert cached_instance("missing", Kept) is None
    cache.set("other", {"a": 1}, 60)
    assert cached_instance("other", Kept) is None


def test_an_unreadable_value_is_a_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    def moved(key: str) -> object:
        raise AttributeError("Can't get attribute 'DashboardFilters' on <module 'influence.dashboard'>")

    monkeypatch.setattr(cache, "get", moved)
    assert cached_instance("influence:dashboard:x", Kept) is None
