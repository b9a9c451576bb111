"""Platform pages: home, sign-in, API keys, health."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .actors import Actor
from .errors import ValidationFailed
from .forms import ApiKeyForm, add_domain_errors
from .models import ApiKey
from .roles import MARKETING, user_role
from .services import api_key_create, api_key_revoke


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Marketing users land on the marketing dashboard; agents and admins on this page."""
    from customers.models import Customer, Purchase, SocialIdentity

    if user_role(request.user) == MARKETING:
        return redirect("influence:dashboard")
    since = timezone.now() - timedelta(days=30)
    recent = Purchase.objects.filter(purchased_at__gte=since).aggregate(n=Count("id"), total=Sum("amount"))
    context = {
        "customers_count": Customer.objects.filter(merged_into__isnull=True).count(),
        "identities_count": SocialIdentity.objects.filter(customer__isnull=False).count(),
        "purchases_30d": recent["n"],
        "revenue_30d": recent["total"] or 0,
    }
    return render(request, "home.html", context)


@login_required
@permission_required("scrm.add_apikey", raise_exception=True)
def api_keys(request: HttpRequest) -> HttpResponse:
    new_key = None
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _api_key, new_key = api_key_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                rate_per_minute=form.cleaned_data["rate_per_minute"],
                actor=Actor.for_user(request.user),
            )
            form = ApiKeyForm()
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
    return render(
        request,
        "scrm/api_keys.html",
        {"form": form, "keys": ApiKey.objects.all(), "new_key": new_key},
    )


@require_POST
@login_required
@permission_required("scrm.change_apikey", raise_exception=True)
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=pk)
    api_key_revoke(api_key=api_key, actor=Actor.for_user(request.user))
    messages.success(request, _("Key “%(name)s” revoked.") % {"name": api_key.name})
    return redirect("api-keys")


def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: database and cache answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("health", "1", 5)
        checks["cache"] = "ok" if cache.get("health") == "1" else "error"
    except Exception as exc:  # noqa: BLE001
        checks["cache"] = f"error: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "error", **checks}, status=200 if ok else 503)
