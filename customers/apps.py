from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from .registry import Section, register_section

        # Empty panels until the owning app (social, influence, loyalty) registers its own.
        placeholder = "customers/panels/placeholder.html"
        for order, key, title, empty in (
            (10, "recent_posts", _("Posts"), list),
            (20, "cases", _("Cases"), list),
            (30, "scores", _("Scores"), lambda: None),
            (40, "loyalty", _("Loyalty"), lambda: None),
        ):
            register_section(
                Section(key=key, title=title, data=lambda c, e=empty: e(), template=placeholder, order=order)
            )
