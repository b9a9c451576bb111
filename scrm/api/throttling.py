"""Per-key rate limits: 429 with Retry-After once a key spends its minute."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str:
        return f"{settings.API_KEY_DEFAULT_RATE_PER_MINUTE}/min"

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True  # people signed in to the browser are not throttled here
        self.num_requests = api_key.rate_per_minute or settings.API_KEY_DEFAULT_RATE_PER_MINUTE
        self.duration = 60
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.prefix}
