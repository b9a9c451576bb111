"""The agent inbox, the case page and the SLA page. Views read with selectors and act
through the case services (social.cases); refusals come back as messages, never a 500."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from customers.models import Network
from customers.selectors import customer_360
from scrm.actors import Actor
from scrm.errors import Conflict, DomainError, ValidationFailed
from scrm.forms import add_domain_errors

from .cases import (
    ALLOWED_MOVES,
    agent_duty_set,
    case_assign,
    case_claim_reply,
    case_note_add,
    case_set_status,
    case_take,
    reply_retry,
    reply_send,
    sla_band,
    sla_targets,
    sla_targets_set,
)
from .inbox_forms import InboxFilterForm, NoteForm, ReplyForm, SlaTargetForm
from .models import Case, Reply, SlaTarget
from .selectors import (
    INBOX_QUEUES,
    agent_on_duty,
    agents_for_assignment,
    canned_replies_for,
    case_for_page,
    case_thread,
    cases_for_inbox,
    inbox_counts,
    reply_holder,
)

INBOX_PAGE_SIZE = 50
VIEW, CHANGE = "social.view_case", "social.change_case"
QUEUE_LABELS = {
    "mine": gettext_lazy("Mine"),
    "unassigned": gettext_lazy("Unassigned"),
    "open": gettext_lazy("All open"),
    "network": gettext_lazy("By network"),
    "resolved": gettext_lazy("Resolved"),
}


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --- inbox ---------------------------------------------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
def inbox_page(request: HttpRequest) -> HttpResponse:
    form = InboxFilterForm(request.GET or None)
    queue, filters = form.queue_name(), form.filters()
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    now = timezone.now()
    start = (page - 1) * INBOX_PAGE_SIZE
    # One row more than shown says whether there is a next page, without a COUNT.
    rows = cases_for_inbox(
        agent=request.user, queue=queue, filters=filters, start=start, size=INBOX_PAGE_SIZE + 1, now=now
    )
    counts = inbox_counts(agent=request.user, filters=filters, now=now)
    params = {key: value for key, value in request.GET.items() if key not in ("queue", "page") and value}
    tabs = [
        {"queue": q, "label": QUEUE_LABELS[q], "count": counts[q], "query": urlencode({**params, "queue": q})}
        for q in INBOX_QUEUES
        if q != "network"
    ]
    network_tabs = [
        {
            "network": network,
            "label": Network(network).label,
            "count": count,
            "query": urlencode({**params, "queue": "network", "network": network}),
        }
        for network, count in counts["networks"].items()
        if count or filters.network == network
    ]
    context = {
        "form": form,
        "queue": queue,
        "filters": filters,
        "rows": rows[:INBOX_PAGE_SIZE],
        "page_number": page,
        "has_next": len(rows) > INBOX_PAGE_SIZE,
        "next_query": urlencode({**params, "queue": queue, "page": page + 1}),
        "previous_query": urlencode({**params, "queue": queue, "page": page - 1}),
        "tabs": tabs,
        "network_tabs": network_tabs,
        "now": now,
        "on_duty": agent_on_duty(request.user),
    }
    template = "social/_inbox_list.html" if _is_htmx(request) else "social/inbox.html"
    return render(request, template, context)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
def duty_toggle_view(request: HttpRequest) -> HttpResponse:
    """The agent says whether round robin may give them new cases."""
    on_duty = request.POST.get("on_duty") == "1"
    agent_duty_set(agent=request.user, on_duty=on_duty)
    if on_duty:
        messages.success(request, _("You are on duty: new cases come to you in turn."))
    else:
        messages.success(request, _("You are off duty: no new case is given to you."))
    return redirect("social:inbox")


# --- the case page -------------------------------------------------------------------


def _case_context(
    request: HttpRequest,
    case: Case,
    *,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
    reply_error: str = "",
) -> dict[str, Any]:
    customer = case.author.customer if case.author is not None else None
    now = timezone.now()
    first, resolution = sla_targets()[sla_band(case.priority)]
    return {
        "case": case,
        "now": now,
        "band": sla_band(case.priority),
        "sla_minutes": {"first": first, "resolution": resolution},
        "first_overdue": case.first_response_at is None
        and case.first_response_due_at is not None
        and case.first_response_due_at < now,
        "resolution_overdue": case.status != Case.Status.RESOLVED
        and case.resolution_due_at is not None
        and case.resolution_due_at < now,
        "thread": case_thread(case),
        "notes": list(case.notes.select_related("author").order_by("created_at", "id")),
        "view360": customer_360(customer=customer, purchases_limit=5) if customer else None,
        "moves": [
            {"status": status, "label": _STATUS_ACTIONS[status][case.status == Case.Status.RESOLVED]}
            for status in (Case.Status.OPEN, Case.Status.PENDING, Case.Status.RESOLVED)
            if status in ALLOWED_MOVES.get(case.status, set())
        ],
        "agents": agents_for_assignment(),
        "canned": canned_replies_for(case, agent=request.user),
        "reply_form": reply_form or ReplyForm(initial={"key": uuid.uuid4().hex}),
        "note_form": note_form or NoteForm(),
        "reply_error": reply_error,
        "holder": reply_holder(case, user=request.user, now=now),
    }


# (label, label when the case is resolved) per target status
_STATUS_ACTIONS = {
    Case.Status.OPEN: (gettext_lazy("Open"), gettext_lazy("Reopen")),
    Case.Status.PENDING: (gettext_lazy("Waiting for the customer"), gettext_lazy("Waiting for the customer")),
    Case.Status.RESOLVED: (gettext_lazy("Resolve"), gettext_lazy("Resolve")),
}


@login_required
@permission_required(VIEW, raise_exception=True)
def case_page(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_page(pk)
    return render(request, "social/case.html", _case_context(request, case))


def _back_to_case(case: Case) -> HttpResponse:
    return redirect("social:case", pk=case.pk)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
def case_reply_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_page(pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            _reply, created = reply_send(
                case=case,
                text=form.cleaned_data["text"],
                actor=Actor.for_user(request.user),
                key=form.cleaned_data["key"],
            )
        except Conflict as error:
            context = _case_context(request, case, reply_form=form, reply_error=error.message)
            return render(request, "social/case.html", context, status=409)
        except ValidationFailed as error:
            add_domain_errors(form, error, onto="text")
        else:
            if created:
                messages.success(request, _("Reply queued: it is sent in a moment."))
            return _back_to_case(case)
    context = _case_context(request, case, reply_form=form)
    return render(request, "social/case.html", context, status=400)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
def reply_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_object_or_404(Reply.objects.select_related("case"), pk=pk)
    try:
        reply_retry(reply=reply, actor=Actor.for_user(request.user))
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Sending the reply again."))
    return _back_to_case(reply.case)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
def case_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_page(pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            case_note_add(case=case, text=form.cleaned_data["text"], actor=Actor.for_user(request.user))
        except ValidationFailed as error:
            add_domain_errors(form, error, onto="text")
        else:
            messages.success(request, _("Note added."))
            return _back_to_case(case)
    return render(request, "social/case.html", _case_context(request, case, note_form=form), status=400)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
def case_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_page(pk)
    try:
        case = case_set_status(
            case=case, status=request.POST.get("status", ""), actor=Actor.for_user(request.user)
        )
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Case is now “%(status)s”.") % {"status": case.get_status_display()})
    return _back_to_case(case)


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
def case_take_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the case and go work on it; when a colleague was faster, say so where we were."""
    case = case_for_page(pk)
    try:
        case_take(case=case, agent=request.user, actor=Actor.for_user(request.user))
    except Conflict as error:
        messages.error(request, error.message)
        return redirect(_next_url(request, reverse("social:case", args=[case.pk])))
    messages.success(request, _("Case #%(id)s is yours.") % {"id": case.pk})
    return _back_to_case(case)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
def case_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_page(pk)
    chosen = request.POST.get("assignee", "")
    assignee = None
    if chosen:
        assignee = agents_for_assignment().filter(pk=chosen if chosen.isdigit() else 0).first()
        if assignee is None:
            messages.error(request, _("Choose an agent from the list."))
            return _back_to_case(case)
    case_assign(case=case, assignee=assignee, actor=Actor.for_user(request.user))
    if assignee is None:
        messages.success(request, _("Case #%(id)s is back in the unassigned queue.") % {"id": case.pk})
    else:
        messages.success(
            request,
            _("Case #%(id)s assigned to %(name)s.") % {"id": case.pk, "name": assignee.get_username()},
        )
    return _back_to_case(case)


@login_required
@permission_required(CHANGE, raise_exception=True)
def case_replying_view(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: the agent is writing (claim it, answer with who holds the claim). GET: only
    say whether a colleague is writing."""
    case = case_for_page(pk)
    if request.method == "POST":
        holder = case_claim_reply(case=case, user=request.user)
        holder = None if holder == request.user else holder
    else:
        holder = reply_holder(case, user=request.user)
    return render(request, "social/_replying.html", {"holder": holder, "case": case})


# --- SLA targets ---------------------------------------------------------------------


@login_required
@permission_required("social.change_slatarget", raise_exception=True)
def sla_page(request: HttpRequest) -> HttpResponse:
    current = sla_targets()
    forms = [
        SlaTargetForm(
            request.POST or None,
            band=band,
            initial={"first_response_minutes": current[band][0], "resolution_minutes": current[band][1]},
        )
        for band in SlaTarget.Band.values
    ]
    if request.method == "POST":
        if all(form.is_valid() for form in forms):
            try:
                sla_targets_set(
                    targets={form.band: (form.cleaned_data["first_response_minutes"],
                                         form.cleaned_data["resolution_minutes"]) for form in forms},
                    actor=Actor.for_user(request.user),
                )  # fmt: skip
            except DomainError as error:
                problems = [message for messages_ in error.field_errors.values() for message in messages_]
                messages.error(request, error.message or "; ".join(problems))
            else:
                messages.success(request, _("SLA targets saved: new cases get these due times."))
                return redirect("social:sla")
        status = 400
    else:
        status = 200
    return render(request, "social/sla.html", {"forms": forms}, status=status)
