"""Referral pages: the public link `/r/<code>/`, a code created from the customer 360, and
the marketing list `/insights/referrals/` (filters, totals, CSV, rewards marked paid)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from customers.models import Customer
from scrm.actors import Actor
from scrm.errors import DomainError
from scrm.exports import csv_response, wants_csv

from .filters import ReferralFilter
from .models import Referral
from .referral_selectors import referral_totals, referrals_for_list
from .referrals import (
    referral_code_active,
    referral_code_for,
    referral_link_click,
    referral_reward_mark_paid,
)

PAGE_SIZE = 25
# The code a visitor arrived with, for the shop or sign-up page on this site to read back.
COOKIE = "scrm_referral"
COOKIE_SALT = "influence.referral"
COOKIE_DAYS = 30


# --- the public link ---------------------------------------------------------------------


def _landing_url(code: str) -> str:
    """settings.REFERRAL_LANDING_URL with `ref=<code>` added to its query string."""
    parts = urlsplit(settings.REFERRAL_LANDING_URL)
    query = f"{parts.query}&{urlencode({'ref': code})}" if parts.query else urlencode({"ref": code})
    return urlunsplit(parts._replace(query=query))


def referral_link_page(request: HttpRequest, code: str) -> HttpResponse:
    """Count the click (GET only: link previews that send HEAD do not count), remember the
    code in a signed cookie and go to the landing page, or say who invited the visitor."""
    try:
        found = referral_link_click(code=code) if request.method == "GET" else referral_code_active(code=code)
    except DomainError as error:
        raise Http404(error.message) from error
    if settings.REFERRAL_LANDING_URL:
        response: HttpResponse = redirect(_landing_url(found.code))
    else:
        response = render(
            request,
            "influence/referral_landing.html",
            {"first_name": found.customer.first_name, "code": found.code},
        )
    response.set_signed_cookie(
        COOKIE,
        found.code,
        salt=COOKIE_SALT,
        max_age=COOKIE_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


def referral_code_from_cookie(request: HttpRequest) -> str | None:
    """The code a visitor arrived with on this site, if the cookie is there and intact."""
    value = request.get_signed_cookie(COOKIE, default=None, salt=COOKIE_SALT, max_age=COOKIE_DAYS * 24 * 3600)
    return str(value) if value else None


# --- codes from the customer 360 ---------------------------------------------------------


class ReferralCodeForm(forms.Form):
    campaign = forms.CharField(label=gettext_lazy("Campaign"), max_length=100, required=False)


@login_required
@permission_required("influence.add_referralcode", raise_exception=True)
@require_POST
def referral_code_create_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    form = ReferralCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The campaign name is too long (at most 100 characters)."))
    else:
        try:
            code = referral_code_for(
                customer=customer, campaign=form.cleaned_data["campaign"], actor=Actor.for_user(request.user)
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Referral code %(code)s is ready to share.") % {"code": code.code})
            customer = code.customer
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#section-referrals")


# --- the marketing list ------------------------------------------------------------------


class ReferralFilterForm(forms.Form):
    since = forms.DateField(
        label=gettext_lazy("Referred from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("Referred until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    converted = forms.ChoiceField(
        label=gettext_lazy("Converted"),
        required=False,
        choices=[
            ("", gettext_lazy("All")),
            ("true", gettext_lazy("Converted")),
            ("false", gettext_lazy("Not yet")),
        ],
    )
    campaign = forms.CharField(label=gettext_lazy("Campaign"), required=False, max_length=100)
    type = forms.ChoiceField(
        label=gettext_lazy("Type"),
        required=False,
        choices=[
            ("", gettext_lazy("All")),
            ("1", gettext_lazy("1: would not have come otherwise")),
            ("2", gettext_lazy("2: would have come anyway")),
        ],
    )
    referrer = forms.IntegerField(label=gettext_lazy("Referrer (customer #)"), required=False, min_value=1)

    def filter_params(self) -> dict[str, str]:
        """The form's values as ReferralFilter query parameters (a day range -> date-times)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        params: dict[str, str] = {}
        for name in ("converted", "campaign", "type", "referrer"):
            if data.get(name) not in (None, ""):
                params[name] = str(data[name])
        if data.get("since"):
            params["since"] = _day_start(data["since"]).isoformat()
        if data.get("until"):
            params["until"] = _day_start(data["until"] + timedelta(days=1)).isoformat()
        return params


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


CSV_HEADER = (
    "id", "referred_at", "referrer_id", "referrer", "referred_id", "referred", "channel", "code", "campaign",
    "type", "type_inferred", "converted_at", "value", "reward_amount", "reward_paid_at",
)  # fmt: skip


def _csv_rows(referrals: QuerySet[Referral]) -> Iterator[list[Any]]:
    for r in referrals.iterator(chunk_size=2000):
        yield [
            r.pk, r.referred_at.isoformat(), r.referrer_id, r.referrer.full_name, r.referred_id,
            r.referred.full_name, r.channel, r.code.code if r.code else "", r.campaign, r.type,
            "yes" if r.type_inferred else "no", r.converted_at.isoformat() if r.converted_at else "",
            r.value, r.reward_amount, r.reward_paid_at.isoformat() if r.reward_paid_at else "",
        ]  # fmt: skip


@login_required
@permission_required("influence.view_referral", raise_exception=True)
def referrals_page(request: HttpRequest) -> HttpResponseBase:
    form = ReferralFilterForm(request.GET or None)
    filtered = ReferralFilter(form.filter_params(), queryset=referrals_for_list())
    referrals = filtered.qs
    if wants_csv(request):
        return csv_response("referrals", CSV_HEADER, _csv_rows(referrals))
    context = {
        "form": form,
        "page": Paginator(referrals, PAGE_SIZE).get_page(request.GET.get("page")),
        "totals": referral_totals(referrals),
        "filtered": bool(form.filter_params()),
        "currency": settings.REPORTING_CURRENCY,
    }
    template = (
        "influence/referrals_results.html"
        if request.headers.get("HX-Request")
        else "influence/referrals.html"
    )
    return render(request, template, context)


@login_required
@permission_required("influence.change_referral", raise_exception=True)
@require_POST
def referral_reward_paid_view(request: HttpRequest, pk: int) -> HttpResponse:
    referral = get_object_or_404(Referral, pk=pk)
    try:
        referral_reward_mark_paid(referral=referral, actor=Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Reward of %(amount)s marked paid for the referral of customer #%(referred)s.")
            % {"amount": referral.reward_amount, "referred": referral.referred_id},
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("influence:referrals")
    return redirect(target)
