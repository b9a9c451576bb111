from __future__ import annotations

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def duration(minutes: float | None) -> str:
    """Minutes as a short readable duration: 45 min, 3.5 h, 2.1 d."""
    if minutes is None:
        return "—"
    if minutes < 120:
        return gettext("%(n)s min") % {"n": f"{minutes:.0f}"}
    if minutes < 48 * 60:
        return gettext("%(n)s h") % {"n": f"{minutes / 60:.1f}"}
    return gettext("%(n)s d") % {"n": f"{minutes / 1440:.1f}"}
