from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InfluenceConfig(AppConfig):
    name = "influence"
    verbose_name = _("Influence and scores")

    def ready(self) -> None:
        from customers.registry import register_customer_reference

        from . import panels

        register_customer_reference("influence.SurveyResponse", "customer")
        register_customer_reference("influence.SurveyInvitation", "customer")
        panels.register()
