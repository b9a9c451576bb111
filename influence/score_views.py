"""The score runs page: what the nightly recompute did, with what parameters, and a button
to recompute now (a Celery task; the page follows its progress)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .models import ScoreRun
from .scoring import LOCK_KEY
from .tasks import recompute_scores_task

RUNS_SHOWN = 20


def _runs_context() -> dict[str, object]:
    runs = list(ScoreRun.objects.order_by("-started_at", "-pk")[:RUNS_SHOWN])
    # A run marked running without the lock was cut off; the next run marks it failed.
    running = (
        next((r for r in runs if r.status == ScoreRun.Status.RUNNING), None) if cache.get(LOCK_KEY) else None
    )
    return {"runs": runs, "running": running, "latest": next((r for r in runs if r.status == "done"), None)}


@login_required
@permission_required("influence.view_scorerun", raise_exception=True)
def scores_page(request: HttpRequest) -> HttpResponse:
    template = "influence/_score_runs.html" if request.headers.get("HX-Request") else "influence/scores.html"
    return render(request, template, _runs_context())


@login_required
@permission_required("influence.recompute_scores", raise_exception=True)
@require_POST
def scores_recompute_view(request: HttpRequest) -> HttpResponse:
    if cache.get(LOCK_KEY):
        messages.warning(request, _("Scores are already being recomputed; this page follows that run."))
    else:
        recompute_scores_task.delay(trigger=f"user:{request.user.get_username()}")
        messages.success(request, _("Recompute started. It runs in the background; this page follows it."))
    return redirect("influence:scores")
