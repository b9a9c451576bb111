"""The one place where errors become HTTP responses.

Validation errors: 400 `{"errors": {field: [messages]}}`; domain errors: their status with
`{"errors": ...}` or `{"detail": ...}`; everything else as DRF shapes it (`{"detail"}`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import DomainError


def _as_field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        if exc.field_errors:
            return Response({"errors": exc.field_errors}, status=exc.status)
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"errors": body}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"errors": _as_field_errors(exc.detail)}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
