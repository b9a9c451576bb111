"""The "scores" panel of the customer 360: the latest snapshot (influence and its
components, CLV, CRV, segment, inferred sentiment index, NPS category), its trend, and the
customer's latest survey answers. Read from snapshots, never recomputed here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.registry import Section, register_section

from .models import Segment, SurveyKind
from .selectors import customer_scores, latest_answers_of_customer, nps_category

TREND_POINTS = 30
COMPONENT_LABELS = {
    "pagerank": _("network centrality (PageRank)"),
    "reach": _("reach (log of followers)"),
    "engagement": _("engagement received per post"),
    "participation": _("posts on the brand's topics"),
    "sentiment": _("sentiment toward the brand"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _sparkline(values: list[float | None], width: int = 160, height: int = 32) -> str:
    """SVG polyline points for the non-null values, scaled into the box."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in known)


def scores_section(customer: Customer) -> dict[str, Any]:
    answers = latest_answers_of_customer(customer=customer)
    latest_nps = next((a for a in answers if a.kind == SurveyKind.NPS), None)
    scores = {
        key: _plain(value) for key, value in customer_scores(customer=customer, history=TREND_POINTS).items()
    }
    scores["history"] = [{k: _plain(v) for k, v in point.items()} for point in scores["history"]]
    scores["nps_category"] = scores["nps_category"] or (
        nps_category(latest_nps.score) if latest_nps else None
    )
    scores["surveys"] = [
        {
            "kind": a.kind,
            "score": a.score,
            "comment": a.comment,
            "channel": a.channel,
            "answered_at": a.answered_at.isoformat(),
        }
        for a in answers
    ]
    return scores


def scores_view(scores: dict[str, Any]) -> dict[str, Any]:
    """What the template needs beyond the API data: labels, sparklines."""
    components = [
        {"key": key, "label": COMPONENT_LABELS.get(key, key), **value}
        for key, value in (scores.get("influence_components") or {}).items()
        if isinstance(value, dict)
    ]
    history = scores.get("history") or []
    return {
        "components": components,
        "segment_label": dict(Segment.choices).get(scores.get("segment") or "", ""),
        "influence_trend": _sparkline([p.get("influence") for p in history]),
        "clv_trend": _sparkline([p.get("clv") for p in history]),
        "trend_from": history[0]["as_of"] if history else None,
    }


def register() -> None:
    register_section(
        Section(
            key="scores",
            title=_("Scores"),
            data=scores_section,
            template="influence/panels/scores.html",
            order=30,
        )
    )
