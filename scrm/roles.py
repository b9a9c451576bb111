"""The three roles and what each may do.

A role is a Django group. Its permissions are listed here by "app_label.codename";
apps added later append theirs. The groups are kept in step after every migrate.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

ADMIN = "admin"
MARKETING = "marketing"
AGENT = "agent"
ROLES = (ADMIN, MARKETING, AGENT)

# Admins get every permission (and staff status, for the Django admin).
ROLE_PERMISSIONS: dict[str, set[str]] = {
    MARKETING: {
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_purchase",
        "customers.add_purchase",
        "customers.view_socialidentity",
        "customers.export_customer",
        "customers.merge_customer",
        "customers.view_mergeevent",
        "social.view_post",
        "social.view_case",
        "social.view_listeningrule",
        "social.add_listeningrule",
        "social.change_listeningrule",
        "social.view_flagrule",
        "social.change_flagrule",
        "social.view_connectedaccount",
        "influence.view_surveyresponse",
        "influence.view_service_metrics",
        "influence.view_scoresnapshot",
        "influence.view_scorerun",
        "influence.recompute_scores",
        "influence.view_programmecost",
        "influence.add_programmecost",
        "influence.change_programmecost",
        "influence.delete_programmecost",
        "influence.view_objective",
        "influence.add_objective",
        "influence.change_objective",
        "influence.delete_objective",
        "influence.view_referral",
        "influence.change_referral",
        "influence.view_referralcode",
        "influence.add_referralcode",
        "influence.add_surveyresponse",
    },
    AGENT: {
        "customers.view_customer",
        "customers.change_customer",
        "customers.view_purchase",
        "customers.view_socialidentity",
        "customers.change_socialidentity",
        "social.view_post",
        "social.view_case",
        "social.change_case",
        "influence.view_scoresnapshot",
    },
}


def sync_roles(app_registry: Any = global_apps) -> None:
    """Create the role groups and give each exactly its permissions. Safe to run any time."""
    Group = app_registry.get_model("auth", "Group")
    Permission = app_registry.get_model("auth", "Permission")
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=app_registry)
    all_permissions = Permission.objects.select_related("content_type")
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in all_permissions}
    Group.objects.get_or_create(name=ADMIN)[0].permissions.set(list(by_name.values()))
    for role, names in ROLE_PERMISSIONS.items():
        group = Group.objects.get_or_create(name=role)[0]
        group.permissions.set([by_name[n] for n in names if n in by_name])


def sync_roles_after_migrate(sender: Any, apps: Any = global_apps, **kwargs: Any) -> None:
    if sender.name == "scrm":
        sync_roles(apps)


def user_role(user: Any) -> str | None:
    """The user's role name (the highest one if several), or None."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = {g.name for g in user.groups.all()}
    return next((role for role in ROLES if role in names), None)
