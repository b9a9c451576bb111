"""Pages: the public survey (no login), the agent's invitation link, the service metrics."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from scrm.actors import Actor
from scrm.errors import DomainError, ValidationFailed
from social.models import Case

from .forms import InviteForm, ServiceFilterForm, SurveyAnswerForm
from .models import SurveyInvitation, SurveyKind, score_range
from .service_metrics import service_report
from .services import survey_answer, survey_invitation_for_token, survey_invite


def _closed(request: HttpRequest, error: DomainError) -> HttpResponse:
    message = error.field_errors.get("token", [error.message])[0] if error.field_errors else error.message
    return render(request, "influence/survey_closed.html", {"message": message}, status=error.status)


def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """The survey behind an invitation link: a score, a comment, once."""
    try:
        invitation = survey_invitation_for_token(token)
    except DomainError as error:
        return _closed(request, error)
    form = SurveyAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey_answer(token=token, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"])
        except ValidationFailed as error:
            if "token" in error.field_errors:
                return _closed(request, error)
            for field, messages in error.field_errors.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        except DomainError as error:
            return _closed(request, error)
        else:
            return redirect("influence:survey-thanks", token=token)
    low, high = score_range(invitation.kind)
    context = {
        "invitation": invitation,
        "form": form,
        "scores": range(low, high + 1),
        "is_nps": invitation.kind == SurveyKind.NPS,
        "chosen": str(form["score"].value() or ""),
    }
    return render(request, "influence/survey.html", context, status=400 if form.errors else 200)


def survey_thanks_page(request: HttpRequest, token: str) -> HttpResponse:
    answered = SurveyInvitation.objects.filter(token=token, answered_at__isnull=False).exists()
    if not answered:
        return redirect("influence:survey", token=token)
    return render(request, "influence/survey_thanks.html")


@login_required
@permission_required("social.change_case", raise_exception=True)
@require_POST
def survey_invite_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """A survey link for the case's customer, to paste into a reply."""
    case = get_object_or_404(Case.objects.select_related("author__customer"), pk=case_id)
    form = InviteForm(request.POST)
    kind = (form.cleaned_data.get("kind") if form.is_valid() else "") or SurveyKind.CSAT
    invitation, path = survey_invite(case=case, kind=kind, actor=Actor.for_user(request.user))
    context = {"case": case, "invitation": invitation, "link": request.build_absolute_uri(path)}
    template = "influence/_invite_link.html" if request.headers.get("HX-Request") else "influence/invite.html"
    return render(request, template, context, status=201)


def _start_of(day: date | None) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


@login_required
@permission_required("influence.view_service_metrics", raise_exception=True)
def service_page(request: HttpRequest) -> HttpResponse:
    form = ServiceFilterForm(request.GET or None)
    since, until, network = form.period()
    report = service_report(since=_start_of(since), until=_start_of(until), network=network)
    context: dict[str, Any] = {"form": form, "report": report, "since": since, "until": until}
    template = (
        "influence/_service_figures.html" if request.headers.get("HX-Request") else "influence/service.html"
    )
    return render(request, template, context)
