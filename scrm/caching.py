"""Reading objects back from the cache without trusting them: a value pickled by another
release (a class since moved or changed) is a miss, not a server error."""

from __future__ import annotations

import logging
import pickle
from typing import Any, TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)
T = TypeVar("T")


def cached_instance(key: str, kind: type[T]) -> T | None:
    """The cached value under `key` if it is a `kind`, else None (missing, or unreadable)."""
    try:
        value: Any = cache.get(key)
    except (AttributeError, ImportError, TypeError, EOFError, pickle.UnpicklingError) as exc:
        logger.info("cache entry %s unreadable (%s): recomputed", key, type(exc).__name__)
        return None
    return value if isinstance(value, kind) else None
