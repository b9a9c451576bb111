"""Survey writes: invitations, answers from the public page, answers pushed by partners."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from customers.models import Customer
from scrm.actors import Actor
from scrm.errors import Conflict, ValidationFailed
from scrm.models import AuditEntry
from scrm.services import audit_record
from social.models import Case

from .models import SurveyInvitation, SurveyKind, SurveyResponse, score_range

MAX_COMMENT = 2000


def invitation_valid_days() -> int:
    return int(getattr(settings, "SURVEY_INVITATION_DAYS", 14))


def _check_kind(kind: str) -> None:
    if kind not in SurveyKind.values:
        raise ValidationFailed({"kind": [gettext("Choose nps or csat.")]})


def _check_score(kind: str, score: Any) -> int:
    low, high = score_range(kind)
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise ValidationFailed(
            {"score": [gettext("Choose a score from %(low)d to %(high)d.") % {"low": low, "high": high}]}
        )
    return score


def _survivor(customer: Customer | None) -> Customer | None:
    """Answers go to the golden record: a merged customer's answer goes to its survivor."""
    while customer is not None and customer.merged_into_id is not None:
        customer = customer.merged_into
    return customer


def survey_invite(
    *, case: Case | None = None, customer: Customer | None = None, kind: str, actor: Actor
) -> tuple[SurveyInvitation, str]:
    """Create a one-answer invitation (for a case's customer, or a given customer) and
    return it with the path of its public page, `/s/<token>/`."""
    _check_kind(kind)
    if customer is None and case is not None and case.author_id is not None:
        customer = case.author.customer if case.author else None
    now = timezone.now()
    invitation = SurveyInvitation.objects.create(
        token=secrets.token_urlsafe(24),
        kind=kind,
        customer=_survivor(customer),
        case=case,
        created_by=actor.user,
        created_at=now,
        expires_at=now + timedelta(days=invitation_valid_days()),
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        subject=invitation,
        summary=f"Survey invitation ({kind})" + (f" for case #{case.pk}" if case else ""),
    )
    return invitation, reverse("influence:survey", args=[invitation.token])


def survey_invitation_for_token(token: str) -> SurveyInvitation:
    """The invitation behind a token, refused when it is unknown, answered or expired."""
    invitation = SurveyInvitation.objects.filter(token=token).first() if token else None
    if invitation is None:
        raise ValidationFailed(
            {"token": [gettext("This survey link is not valid. Check that it was copied whole.")]}
        )
    if invitation.answered_at is not None:
        raise Conflict(gettext("This survey has already been answered. Thank you!"))
    if invitation.expires_at <= timezone.now():
        raise ValidationFailed({"token": [gettext("This survey link has expired.")]})
    return invitation


def survey_answer(*, token: str, score: Any, comment: str = "") -> SurveyResponse:
    """Answer the survey behind `token` once. Refuses an unknown token, an expired or
    already answered one, and a score out of the kind's range. Two concurrent answers
    with the same token: the conditional update lets exactly one through."""
    invitation = survey_invitation_for_token(token)
    score = _check_score(invitation.kind, score)
    now = timezone.now()
    with transaction.atomic():
        claimed = SurveyInvitation.objects.filter(
            pk=invitation.pk, answered_at__isnull=True, expires_at__gt=now
        ).update(answered_at=now)
        if not claimed:
            survey_invitation_for_token(token)  # raises the reason
            raise Conflict(gettext("This survey has already been answered. Thank you!"))
        return SurveyResponse.objects.create(
            customer=_survivor(invitation.customer),
            kind=invitation.kind,
            score=score,
            comment=(comment or "").strip()[:MAX_COMMENT],
            channel="survey",
            answered_at=now,
            invitation=invitation,
            case_id=invitation.case_id,
            source=SurveyResponse.Source.PAGE,
        )


def survey_response_record(
    *,
    customer: Customer | None = None,
    kind: str,
    score: Any,
    comment: str = "",
    channel: str = "",
    campaign: str = "",
    answered_at: datetime | None = None,
    actor: Actor,
) -> SurveyResponse:
    """Keep an answer collected elsewhere (a partner's survey tool)."""
    _check_kind(kind)
    score = _check_score(kind, score)
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                customer=_survivor(customer),
                kind=kind,
                score=score,
                comment=comment[:MAX_COMMENT],
                channel=channel,
                campaign=campaign,
                answered_at=answered_at or timezone.now(),
                source=SurveyResponse.Source.API,
            )
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                subject=response,
                summary=f"Survey answer {kind} {score}",
            )
    except IntegrityError as error:  # the range check in the database
        raise ValidationFailed({"score": [gettext("This score is out of range.")]}) from error
    return response
