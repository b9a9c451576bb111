"""Provider name -> provider class, the one place that knows every provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Provider
from .facebook import FacebookProvider
from .fake import FakeProvider
from .files import FilesProvider
from .x import XProvider

PROVIDERS: Mapping[str, type[Provider]] = {
    provider.name: provider for provider in (XProvider, FacebookProvider, FilesProvider, FakeProvider)
}


def provider_class(name: str) -> type[Provider]:
    """The provider class registered as `name`; ValueError naming the known ones otherwise."""
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ValueError(f"unknown provider {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None


def provider_for(name: str, credentials: Mapping[str, Any]) -> Provider:
    """Build provider `name` from a connected account's decrypted credentials."""
    return provider_class(name).from_credentials(credentials)
