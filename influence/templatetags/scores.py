from __future__ import annotations

from typing import Any

from django import template

from ..panels import scores_view

register = template.Library()


@register.simple_tag
def score_panel(section: dict[str, Any]) -> dict[str, Any]:
    """Labels and sparklines for the 360 scores panel (`{% score_panel section as view %}`)."""
    return scores_view(section)
