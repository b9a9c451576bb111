"""Social pages: connected accounts (admins), listening rules, the listening dashboard
and its posts drill-down. Views read with selectors and write with services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.models import SocialIdentity
from scrm.actors import Actor
from scrm.errors import ValidationFailed
from scrm.exports import csv_response, wants_csv
from scrm.forms import add_domain_errors

from .filters import ListeningPostFilter
from .forms import CREDENTIAL_KEYS, AccountForm, ListeningFilterForm, PostListFilterForm, RuleForm
from .models import ConnectedAccount, ListeningRule, Post
from .providers.base import ProviderError
from .selectors import (
    ListeningFilters,
    account_usage,
    accounts_for_admin,
    default_window,
    listening_figures,
    rules_for_listing,
)
from .services import account_create, account_test, account_update, rule_create, rule_update
from .tasks import poll_rule_task

POSTS_PAGE_SIZE = 25
MANAGE_ACCOUNTS = "social.manage_connectedaccount"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --- connected accounts --------------------------------------------------------------


def _account_row(account: ConnectedAccount, **extra: Any) -> dict[str, Any]:
    return {"account": account, "usage": account_usage(account), **extra}


@login_required
@permission_required(MANAGE_ACCOUNTS, raise_exception=True)
def accounts_page(request: HttpRequest) -> HttpResponse:
    rows = [_account_row(account) for account in accounts_for_admin()]
    return render(request, "social/accounts.html", {"rows": rows})


def _account_errors(form: AccountForm, error: ValidationFailed) -> None:
    """The service names stored keys; put each message under the form field that holds it."""
    fields = {CREDENTIAL_KEYS.get(name, name): name for name in form.credential_fields()}
    renamed = {fields.get(key, key): texts for key, texts in error.field_errors.items()}
    add_domain_errors(form, ValidationFailed(renamed))


@login_required
@permission_required([MANAGE_ACCOUNTS, "social.add_connectedaccount"], raise_exception=True)
def account_create_page(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = account_create(
                name=data["name"],
                provider=data["provider"],
                credentials=form.credentials(),
                handle=data["handle"],
                poll_interval_seconds=data["poll_interval_seconds"],
                monthly_post_cap=data["monthly_post_cap"],
                actor=Actor.for_user(request.user),
            )
        except ValidationFailed as exc:
            _account_errors(form, exc)
        else:
            messages.success(
                request, _("Account “%(name)s” connected. Test the connection.") % {"name": account.name}
            )
            return redirect("social:accounts")
    return render(request, "social/account_form.html", {"form": form, "account": None})


@login_required
@permission_required([MANAGE_ACCOUNTS, "social.change_connectedaccount"], raise_exception=True)
def account_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=pk)
    form = AccountForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account_update(
                account=account,
                actor=Actor.for_user(request.user),
                credentials=form.credentials(),
                name=data["name"],
                handle=data["handle"],
                poll_interval_seconds=data["poll_interval_seconds"],
                monthly_post_cap=data["monthly_post_cap"],
            )
        except ValidationFailed as exc:
            _account_errors(form, exc)
        else:
            messages.success(request, _("Account “%(name)s” saved.") % {"name": account.name})
            return redirect("social:accounts")
    return render(request, "social/account_form.html", {"form": form, "account": account})


@require_POST
@login_required
@permission_required(MANAGE_ACCOUNTS, raise_exception=True)
def account_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the network who the credentials belong to; answer with the account's row."""
    account = get_object_or_404(ConnectedAccount, pk=pk)
    try:
        me = account_test(account=account, actor=Actor.for_user(request.user))
    except ProviderError as error:
        ok, text = False, _("Failed: %(reason)s") % {"reason": error.message}
    else:
        name = me.get("username") or me.get("name") or me.get("id") or account.handle
        ok, text = True, _("OK: connected as @%(name)s") % {"name": name}
    account.refresh_from_db()
    if _is_htmx(request):
        return render(
            request, "social/_account_row.html", {"row": _account_row(account, test_ok=ok, test_text=text)}
        )
    (messages.success if ok else messages.error)(request, f"{account.name}: {text}")
    return redirect("social:accounts")


@require_POST
@login_required
@permission_required([MANAGE_ACCOUNTS, "social.change_connectedaccount"], raise_exception=True)
def account_toggle_view(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=pk)
    account_update(account=account, actor=Actor.for_user(request.user), active=not account.active)
    if account.active:
        messages.success(request, _("Account “%(name)s” activated.") % {"name": account.name})
    else:
        messages.success(
            request, _("Account “%(name)s” deactivated: it is not polled.") % {"name": account.name}
        )
    return redirect("social:accounts")


# --- listening rules -----------------------------------------------------------------


@login_required
@permission_required("social.view_listeningrule", raise_exception=True)
def rules_page(request: HttpRequest) -> HttpResponse:
    return render(request, "social/rules.html", {"rules": rules_for_listing()})


@login_required
@permission_required("social.add_listeningrule", raise_exception=True)
def rule_create_page(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = rule_create(actor=Actor.for_user(request.user), **form.rule_fields())
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Listening rule “%(name)s” created.") % {"name": rule.name})
            return redirect("social:rules")
    return render(request, "social/rule_form.html", {"form": form, "rule": None})


@login_required
@permission_required("social.change_listeningrule", raise_exception=True)
def rule_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ListeningRule, pk=pk)
    form = RuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            rule_update(
                rule=rule,
                actor=Actor.for_user(request.user),
                active=form.cleaned_data["active"],
                **form.rule_fields(),
            )
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Listening rule “%(name)s” saved.") % {"name": rule.name})
            return redirect("social:rules")
    return render(request, "social/rule_form.html", {"form": form, "rule": rule})


@require_POST
@login_required
@permission_required("social.change_listeningrule", raise_exception=True)
def rule_poll_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ListeningRule, pk=pk)
    if rule.account_id is None:
        messages.error(request, _("“%(name)s” has no account to poll with.") % {"name": rule.name})
    else:
        rule_id = rule.pk
        transaction.on_commit(lambda: poll_rule_task.delay(rule_id))
        messages.success(request, _("Polling “%(name)s” now.") % {"name": rule.name})
    return redirect("social:rules")


# --- listening dashboard and posts ---------------------------------------------------


def _listening_filters(form: ListeningFilterForm) -> ListeningFilters:
    since, until = default_window()
    data = form.cleaned_data if form.is_valid() else {}
    return ListeningFilters(
        since=data.get("since") or since,
        until=data.get("until") or until,
        network=data.get("network") or "",
        rule=data.get("rule"),
        language=(data.get("language") or "").strip().lower(),
    )


def _posts_url(query: dict[str, str], **more: Any) -> str:
    return f"{reverse('social:posts')}?{urlencode({**query, **more})}"


def _bars(values: list[int], *, height: int = 100) -> list[int]:
    """Bar heights in SVG units, the largest value filling the chart."""
    top = max(values, default=0)
    return [round(height * value / top) if top else 0 for value in values]


@login_required
@permission_required("social.view_post", raise_exception=True)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    form = ListeningFilterForm(request.GET or None)
    filters = _listening_filters(form)
    figures = listening_figures(filters)
    base = filters.posts_query()
    volume = [
        {
            "day": item.day,
            "posts": item.posts,
            "height": bar,
            "x": 10 * offset,
            "y": 100 - bar,
            "url": _posts_url(filters.day_query(item.day)),
        }
        for offset, (item, bar) in enumerate(
            zip(figures.volume, _bars([v.posts for v in figures.volume]), strict=True)
        )
    ]
    split = figures.sentiment
    sentiment = [
        {
            "label": label,
            "name": Post.Label(label).label,
            "count": getattr(split, label),
            "share": split.share(label),
            "url": _posts_url(base, sentiment=label),
        }
        for label in Post.Label.values
    ]
    sov_base = {k: v for k, v in base.items() if k not in ("rule", "kind")}
    context = {
        "form": form,
        "filters": filters,
        "figures": figures,
        "volume": volume,
        "bar_width": 10,
        "chart_width": 10 * len(volume),
        "sentiment": sentiment,
        "all_posts_url": _posts_url(base),
        "brand_posts_url": _posts_url(sov_base, kind=ListeningRule.Kind.BRAND),
        "competitor_posts_url": _posts_url(sov_base, kind=ListeningRule.Kind.COMPETITOR),
        "competitors": [
            {"share": share, "url": _posts_url(sov_base, rule=share.rule.pk) if share.rule else ""}
            for share in figures.share_by_competitor
        ],
        "authors": [
            {"author": author, "url": _posts_url(base, author=author.identity_id)}
            for author in figures.authors
        ],
    }
    template = "social/_dashboard_figures.html" if _is_htmx(request) else "social/dashboard.html"
    return render(request, template, context)


def _kept_label(key: str, value: str) -> str:
    """A filter carried over from a drill-down, in words."""
    if key in ("since", "until"):
        moment = parse_datetime(value)
        if moment is None:
            return ""
        shown = date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
        return (_("posted from %(when)s") if key == "since" else _("posted before %(when)s")) % {
            "when": shown
        }
    if key == "author" and value.isdigit():
        identity = SocialIdentity.objects.filter(pk=value).first()
        return _("by @%(handle)s") % {"handle": identity.handle if identity else value}
    if key == "from_brand":
        return _("the brand's own posts") if value == "true" else _("without the brand's own posts")
    if key == "customer":
        return _("by customer #%(id)s") % {"id": value}
    if key == "case":
        return _("in case #%(id)s") % {"id": value}
    return ""


POSTS_CSV_HEADER = [
    "id", "network", "external_id", "created_at", "author", "customer", "language", "sentiment",
    "compound", "likes", "replies", "reposts", "quotes", "text", "url",
]  # fmt: skip


def _posts_csv_rows(posts: QuerySet[Post]) -> Iterator[list[Any]]:
    for post in posts.iterator(chunk_size=2000):
        yield [
            post.pk, post.network, post.external_id, post.created_at.isoformat(),
            post.author.handle if post.author else "", post.author.customer_id if post.author else "",
            post.language, post.sentiment_label, round(post.sentiment, 4), post.likes, post.replies,
            post.reposts, post.quotes, post.text, post.url,
        ]  # fmt: skip


@login_required
@permission_required("social.view_post", raise_exception=True)
def posts_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = PostListFilterForm(request.GET or None)
    queryset = Post.objects.select_related("author", "author__customer", "case").order_by(
        "-created_at", "-id"
    )
    filtered = ListeningPostFilter(request.GET or None, queryset=queryset)
    posts = filtered.qs if filtered.is_valid() else queryset.none()
    if wants_csv(request):
        return csv_response("posts", POSTS_CSV_HEADER, _posts_csv_rows(posts))
    page = Paginator(posts, POSTS_PAGE_SIZE).get_page(request.GET.get("page"))
    # Filters the form does not show (window, author, case...) stay in the query string.
    shown = set(form.fields) | {"page"}
    kept: list[tuple[str, str]] = [
        (key, str(value)) for key, value in request.GET.items() if key not in shown and value
    ]
    context = {
        "form": form,
        "page": page,
        "kept": kept,
        "kept_labels": [label for key, value in kept if (label := _kept_label(key, value))],
        "filter_errors": filtered.errors,
        "filtered": bool(request.GET),
    }
    template = "social/_posts_results.html" if _is_htmx(request) else "social/posts.html"
    return render(request, template, context)
