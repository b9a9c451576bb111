from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from .registry import Section, register_customer_reference, register_section

        for model in (
            "customers.ContactPoint",
            "customers.ExternalId",
            "customers.SocialIdentity",
            "customers.Purchase",
        ):
            register_customer_reference(model, "customer")

        # Empty panels until the owning app (social, influence, loyalty) registers its own.
        placeholder = "customers/panels/placeholder.html"
        for order, key, title in (
            (10, "recent_posts", _("Posts")),
            (20, "cases", _("Cases")),
            (30, "scores", _("Scores")),
            (40, "loyalty", _("Loyalty")),
        ):
            register_section(Section(key=key, title=title, data=_nothing, template=placeholder, order=order))


def _nothing(customer: object) -> None:
    return None
