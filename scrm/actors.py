"""Who is acting: a signed-in person, a partner's API key, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import ApiKey


@dataclass(frozen=True)
class Actor:
    user: Any = None
    api_key: ApiKey | None = None
    label: str = "system"

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(label=label)

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        return cls(user=user, label=user.get_username())

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> Actor:
        return cls(api_key=api_key, label=f"api:{api_key.name}")


def actor_from_request(request: Any) -> Actor:
    """The actor behind a Django or DRF request."""
    api_key = getattr(request, "auth", None)
    from .models import ApiKey

    if isinstance(api_key, ApiKey):
        return Actor.for_api_key(api_key)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor.for_user(user)
    return Actor.system("anonymous")
