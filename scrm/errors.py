"""Domain exceptions shared by every app. Mapped to HTTP once, in scrm.api.errors."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose. `status` is the HTTP mapping."""

    status = 400
    code = "invalid"

    def __init__(self, message: str = "", *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class ValidationFailed(DomainError):
    """Input that a service refuses, with a message per field."""

    status = 400
    code = "invalid"

    def __init__(self, field_errors: dict[str, list[str]]):
        first = next(iter(field_errors.items()), ("", [""]))
        super().__init__(f"{first[0]}: {first[1][0]}", field_errors=field_errors)


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request is valid but clashes with the stored state (409)."""

    status = 409
    code = "conflict"
