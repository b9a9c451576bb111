"""The "scores" panel of the customer 360: the customer's latest survey answers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.registry import Section, register_section

from .models import SurveyKind
from .selectors import latest_answers_of_customer, nps_category


def customer_scores(customer: Customer) -> dict[str, Any]:
    answers = latest_answers_of_customer(customer=customer)
    latest_nps = next((a for a in answers if a.kind == SurveyKind.NPS), None)
    return {
        "nps_category": nps_category(latest_nps.score) if latest_nps else None,
        "surveys": [
            {
                "kind": a.kind,
                "score": a.score,
                "comment": a.comment,
                "channel": a.channel,
                "answered_at": a.answered_at.isoformat(),
            }
            for a in answers
        ],
    }


def register() -> None:
    register_section(
        Section(
            key="scores",
            title=_("Scores"),
            data=customer_scores,
            template="influence/panels/scores.html",
            order=30,
        )
    )
