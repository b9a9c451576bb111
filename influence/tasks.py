"""Influence tasks: thin wrappers that call one service.

`recompute_scores` runs nightly (beat) and on demand (the `recompute_scores` command and
the button on the scores page); `refresh_rollups` keeps the dashboard's recent days fresh.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="influence.recompute_scores", ignore_result=True, acks_late=True)
def recompute_scores_task(trigger: str = "beat") -> int:
    """Recompute every score into today's snapshots; returns the run id."""
    from .scoring import scores_recompute

    return scores_recompute(trigger=trigger).pk


@shared_task(name="influence.refresh_rollups", ignore_result=True)
def refresh_rollups_task(days: int | None = 2) -> int:
    """Rebuild the dashboard rollups of the last `days` days (None: every day)."""
    from .rollups import rollups_refresh

    return rollups_refresh(days=days)
