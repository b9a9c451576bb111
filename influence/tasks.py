"""Influence tasks: thin wrappers that call one service.

`recompute_scores` runs nightly (beat) and on demand (the `recompute_scores` command and
the button on the scores page); `refresh_rollups` keeps the dashboard's recent days fresh.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="influence.recompute_scores", ignore_result=True, acks_late=True)
def recompute_scores_task(trigger: str = "beat") -> int:
    """Recompute every score into today's snapshots; returns the run id (0 when another run
    holds the lock: that run's snapshots are the ones wanted, nothing to retry)."""
    from .scoring import ScoresBusy, scores_recompute

    try:
        return scores_recompute(trigger=trigger).pk
    except ScoresBusy:
        logger.info("score recompute (%s) skipped: another run is going on", trigger)
        return 0


@shared_task(name="influence.refresh_rollups", ignore_result=True)
def refresh_rollups_task(days: int | None = 2) -> int:
    """Rebuild the dashboard rollups of the last `days` days (None: every day)."""
    from .rollups import rollups_refresh

    return rollups_refresh(days=days)
