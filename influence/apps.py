from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InfluenceConfig(AppConfig):
    name = "influence"
    verbose_name = _("Influence and scores")

    def ready(self) -> None:
        from customers.registry import (
            Section,
            register_customer_reference,
            register_purchase_hook,
            register_section,
        )

        from . import panels
        from .referral_selectors import referrals_section
        from .referrals import (
            referrals_convert_for_purchase,
            referrals_staying_as_referred,
            referrals_staying_as_referrer,
        )

        register_customer_reference("influence.SurveyResponse", "customer")
        register_customer_reference("influence.SurveyInvitation", "customer")
        register_customer_reference("influence.Referral", "referrer", stays=referrals_staying_as_referrer)
        register_customer_reference("influence.Referral", "referred", stays=referrals_staying_as_referred)
        register_customer_reference("influence.ReferralCode", "customer")
        register_purchase_hook(referrals_convert_for_purchase)
        panels.register()
        register_section(
            Section(
                key="referrals",
                title=_("Referrals"),
                data=referrals_section,
                template="influence/panels/referrals.html",
                order=35,
            )
        )
