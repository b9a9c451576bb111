"""One permission class for every API view: partner keys need a scope, people a permission.

A view declares, for instance:

    api_scope = "customers"          # GET needs customers:read, writes customers:write
    api_scopes = {"POST": "surveys:write"}   # optional per-method override
    api_perms = {"read": ["customers.view_customer"], "write": ["customers.change_customer"]}
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from ..models import ApiKey


def required_scope(view: Any, method: str) -> str | None:
    override = getattr(view, "api_scopes", {}) or {}
    if method in override:
        return str(override[method])
    base = getattr(view, "api_scope", None)
    if base is None:
        return None
    return f"{base}:{'read' if method in SAFE_METHODS else 'write'}"


def required_perms(view: Any, method: str) -> list[str]:
    perms = getattr(view, "api_perms", None) or {}
    return list(perms.get("read" if method in SAFE_METHODS else "write", []))


class ScopedPermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        scope = required_scope(view, request.method or "GET")
        if isinstance(request.auth, ApiKey):
            if scope is None or not request.auth.has_scope(scope):
                raise exceptions.PermissionDenied(
                    f"This API key lacks the scope {scope or '(none allowed)'}."
                )
            return True
        user = request.user
        if not user or not user.is_authenticated:
            return False
        perms = required_perms(view, request.method or "GET")
        if not perms and not user.is_superuser:
            return False
        return bool(user.has_perms(perms))
