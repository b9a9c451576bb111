"""`Idempotency-Key` for writes partners may retry.

The first request with a key is processed and its response remembered; the same key with
the same body replays that response (header `Idempotent-Replayed: true`); the same key with
another body, or while the first is still running, is a 409.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import ApiKey, IdempotencyRecord

HEADER = "Idempotency-Key"


def _owner(request: Request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.prefix}"
    return f"user:{request.user.pk}"


def _conflict(message: str) -> Response:
    return Response({"detail": message, "code": "idempotency_conflict"}, status=status.HTTP_409_CONFLICT)


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            return Response(
                {"errors": {HEADER: ["At most 255 characters."]}}, status=status.HTTP_400_BAD_REQUEST
            )
        digest = hashlib.sha256(
            b"\n".join([str(request.method).encode(), request.path.encode(), request.body])
        ).hexdigest()
        owner = _owner(request)
        horizon = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
        IdempotencyRecord.objects.filter(owner=owner, key=key, created_at__lt=horizon).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner, key=key, method=str(request.method), path=request.path, request_hash=digest
                )
        except IntegrityError:
            previous = IdempotencyRecord.objects.get(owner=owner, key=key)
            if previous.request_hash != digest:
                return _conflict("This Idempotency-Key was used with another request.")
            if previous.status_code is None:
                return _conflict("A request with this Idempotency-Key is still being processed.")
            replay = Response(previous.response_body, status=previous.status_code)
            replay["Idempotent-Replayed"] = "true"
            return replay
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
        else:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code, response_body=response.data
            )
        return response

    return wrapper
