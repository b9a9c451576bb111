from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ScrmConfig(AppConfig):
    name = "scrm"
    verbose_name = _("Social CRM")

    def ready(self) -> None:
        from .api import schema  # noqa: F401  (registers the OpenAPI auth scheme)
        from .roles import sync_roles_after_migrate

        # Roles are kept in step with the permissions that exist after every migrate.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="scrm.sync_roles")
