"""Navigation for the base layout, by role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .roles import ADMIN, AGENT, MARKETING, user_role

# (url name, label, permission needed or None)
NAVIGATION: list[tuple[str, Any, str | None]] = [
    ("home", _("Home"), None),
    ("influence:dashboard", _("Insights"), "influence.view_surveyresponse"),
    ("social:inbox", _("Inbox"), "social.view_case"),
    ("customers:list", _("Customers"), "customers.view_customer"),
    ("customers:review", _("Duplicates"), "customers.merge_customer"),
    ("social:dashboard", _("Listening"), "social.view_post"),
    ("social:rules", _("Listening rules"), "social.view_listeningrule"),
    ("influence:service", _("Service"), "influence.view_service_metrics"),
    ("influence:referrals", _("Referrals"), "influence.view_referral"),
    ("influence:roi", _("ROI"), "influence.view_programmecost"),
    ("influence:scores", _("Scores"), "influence.view_scorerun"),
    ("social:accounts", _("Accounts"), "social.manage_connectedaccount"),
    ("social:sla", _("SLA"), "social.change_slatarget"),
    ("api-keys", _("API keys"), "scrm.add_apikey"),
    ("api-docs", _("API docs"), None),
]

# The role shown next to the user name; `user_role` itself stays the group name.
ROLE_LABELS: dict[str, Any] = {
    ADMIN: pgettext_lazy("role", "admin"),
    MARKETING: pgettext_lazy("role", "marketing"),
    AGENT: pgettext_lazy("role", "agent"),
}


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role": None}
    items = []
    for url_name, label, permission in NAVIGATION:
        if permission and not user.has_perm(permission):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": request.path == url})
    if user.is_staff:
        items.append({"url": reverse("admin:index"), "label": _("Admin"), "active": False})
    role = user_role(user)
    return {
        "nav_items": items,
        "user_role": role,
        "user_role_label": ROLE_LABELS.get(role, role) if role else None,
    }
