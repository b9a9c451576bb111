"""Customer pages: the searchable list and the customer 360."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from scrm.actors import Actor
from scrm.exports import csv_response, wants_csv
from scrm.forms import add_domain_errors

from .errors import Conflict, ValidationFailed
from .filters import CustomerFilter
from .forms import ContactPointForm, CustomerEditForm, CustomerSearchForm
from .inputs import ContactInput, CustomerData
from .matching import candidate_decide, next_candidate, side_by_side
from .merge import MergeRefused, customer_merge, merge_undo
from .models import Customer, MatchCandidate, MergeEvent
from .selectors import customer_360, customers_live, with_list_data
from .services import customer_update, survivor_of

PAGE_SIZE = 25


CSV_HEADER = ["id", "first_name", "last_name", "emails", "phones", "social", "segment", "created_at"]


def _csv_rows(customers: QuerySet[Customer]) -> Iterator[list[Any]]:
    """The list's columns, one customer a row (prefetched 2,000 at a time)."""
    for c in customers.iterator(chunk_size=2000):
        points = list(c.contact_points.all())
        yield [
            c.pk,
            c.first_name,
            c.last_name,
            " ".join(p.value for p in points if p.kind == "email"),
            " ".join(p.value for p in points if p.kind == "phone"),
            " ".join(f"{i.network}:@{i.handle}" for i in c.social_identities.all()),
            c.segment,
            c.created_at.isoformat(),
        ]


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = CustomerSearchForm(request.GET or None)
    filtered = CustomerFilter(
        request.GET, queryset=customers_live().order_by("last_name", "first_name", "id")
    )
    if wants_csv(request):
        if not request.user.has_perm("customers.export_customer"):
            raise PermissionDenied
        return csv_response("customers", CSV_HEADER, _csv_rows(with_list_data(filtered.qs)))
    page = Paginator(with_list_data(filtered.qs), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": request.GET.get("q", "")}
    template = "customers/_results.html" if getattr(request, "htmx", False) else "customers/list.html"
    return render(request, template, context)


def _live_or_redirect(pk: int) -> Customer | HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    if customer.is_tombstone:
        return redirect("customers:detail", pk=survivor_of(customer).pk)
    return customer


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    found = _live_or_redirect(pk)
    if isinstance(found, HttpResponse):
        messages.info(request, _("Customer #%(old)s was merged into this record.") % {"old": pk})
        return found
    merges = MergeEvent.objects.filter(survivor=found).select_related("other")[:20]
    return render(
        request,
        "customers/detail.html",
        {"view": customer_360(customer=found), "contact_form": ContactPointForm(), "merges": merges},
    )


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    found = _live_or_redirect(pk)
    if isinstance(found, HttpResponse):
        return found
    customer = found
    initial = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "locale": customer.locale,
        "date_of_birth": customer.date_of_birth,
        "consent_marketing_email": customer.consent_marketing_email,
        "consent_social_autopost": customer.consent_social_autopost,
        "consent_data_processing": customer.consent_data_processing,
    }
    form = CustomerEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer_update(
                customer=customer,
                data=CustomerData(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    locale=data["locale"],
                    date_of_birth=data["date_of_birth"],
                    consent={
                        "marketing_email": data["consent_marketing_email"],
                        "social_autopost": data["consent_social_autopost"],
                        "data_processing": data["consent_data_processing"],
                    },
                    source="staff",
                ),
                actor=Actor.for_user(request.user),
            )
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Customer saved."))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/edit.html", {"customer": customer, "form": form})


@require_POST
@login_required
@permission_required("customers.change_customer", raise_exception=True)
def contact_point_add(request: HttpRequest, pk: int) -> HttpResponse:
    found = _live_or_redirect(pk)
    if isinstance(found, HttpResponse):
        return found
    customer = found
    form = ContactPointForm(request.POST)
    if form.is_valid():
        entry = ContactInput(value=form.cleaned_data["value"], verified=form.cleaned_data["verified"])
        if form.cleaned_data["kind"] == "email":
            data = CustomerData(source="staff", emails=[entry])
        else:
            data = CustomerData(source="staff", phones=[entry])
        try:
            customer_update(customer=customer, data=data, actor=Actor.for_user(request.user))
            form = ContactPointForm()
        except (ValidationFailed, Conflict) as exc:
            add_domain_errors(form, exc, onto="value")
    context = {"view": customer_360(customer=customer), "contact_form": form}
    if getattr(request, "htmx", False):
        return render(request, "customers/_contact_points.html", context)
    return redirect("customers:detail", pk=customer.pk)


@require_POST
@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def customer_merge_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge the customer whose id is typed into this one (the review queue does it too)."""
    survivor = get_object_or_404(Customer, pk=pk)
    other = Customer.objects.filter(pk=request.POST.get("other") or 0).first()
    if other is None:
        messages.error(request, _("There is no customer with that number."))
        return redirect("customers:detail", pk=pk)
    try:
        customer_merge(survivor=survivor, other=other, actor=Actor.for_user(request.user), reason="by hand")
    except (MergeRefused, ValidationFailed) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Customer #%(other)s merged into this record. You can undo it below.") % {"other": other.pk},
        )
    return redirect("customers:detail", pk=pk)


@require_POST
@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def merge_undo_page(request: HttpRequest, merge_id: int) -> HttpResponse:
    event = get_object_or_404(MergeEvent, pk=merge_id)
    try:
        result = merge_undo(event=event, actor=Actor.for_user(request.user))
    except MergeRefused as exc:
        messages.error(request, exc.message)
    else:
        text = _("Merge undone: customer #%(other)s is back.") % {"other": event.other_id}
        if result.new_rows_kept:
            text += " " + _("%(n)s record(s) added since the merge stay with this customer.") % {
                "n": len(result.new_rows_kept)
            }
        messages.success(request, text)
    return redirect("customers:detail", pk=event.survivor_id)


@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def review_queue_page(request: HttpRequest) -> HttpResponse:
    """One pair at a time, side by side, with the evidence; m / n / s on the keyboard."""
    after = request.GET.get("after")
    candidate = next_candidate(after_id=int(after) if after and after.isdigit() else None)
    context = {
        "candidate": candidate,
        "rows": side_by_side(candidate) if candidate else [],
        "pending": MatchCandidate.objects.filter(status=MatchCandidate.Status.PENDING).count(),
    }
    return render(request, "customers/review.html", context)


@require_POST
@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def review_decide_page(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = get_object_or_404(MatchCandidate, pk=pk)
    decision = request.POST.get("decision", "")
    try:
        decided = candidate_decide(candidate=candidate, decision=decision, actor=Actor.for_user(request.user))
    except (Conflict, ValidationFailed, MergeRefused) as exc:
        messages.error(request, exc.message or "; ".join(" ".join(v) for v in exc.field_errors.values()))
        return redirect("customers:review")
    if decision == "merge" and decided.merge_id:
        messages.success(
            request,
            _("Merged #%(other)s into #%(survivor)s. Undo from the customer page if it was a mistake.")
            % {"other": decided.merge.other_id, "survivor": decided.merge.survivor_id},  # type: ignore[union-attr]
        )
    elif decision == "reject":
        messages.success(request, _("Noted: not the same person. This pair will not be proposed again."))
    url = reverse("customers:review")
    return redirect(f"{url}?after={pk}" if decision == "skip" else url)
