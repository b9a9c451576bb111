from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SocialConfig(AppConfig):
    name = "social"
    verbose_name = _("Social listening")

    def ready(self) -> None:
        from . import panels

        panels.register()
