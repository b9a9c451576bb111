"""Recompute every score now (what the nightly beat task does), showing the steps."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from influence.scoring import STEPS, ScoresBusy, scores_recompute


class Command(BaseCommand):
    help = "Recompute influence, CLV, CRV, segments, sentiment index and NPS category of every customer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-rollups", action="store_true", help="do not rebuild the dashboard rollups of every day"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=len(STEPS), unit=" steps", file=self.stderr, disable=None) as bar:

            def progress(step: str, done: int, total: int) -> None:
                bar.set_postfix_str(step)
                bar.n = done
                bar.refresh()

            try:
                run = scores_recompute(
                    trigger="command", progress=progress, rollups=not options["no_rollups"]
                )
            except ScoresBusy as exc:
                raise CommandError(exc.message) from exc
        summary = run.summary
        segments = ", ".join(f"{n} {name}" for name, n in sorted(summary.get("segments", {}).items()))
        timings = summary.get("timings", {})
        self.stdout.write(
            f"Scores as of {run.as_of} (run {run.pk}): {run.customers} customers "
            f"({summary.get('modelled_clv', 0)} CLV modelled, "
            f"{summary.get('cohort_clv', 0)} cohort average), {summary.get('influenced', 0)} with "
            f"influence from {run.identities} identities and {run.edges} edges; "
            f"segments: {segments or 'none'}; {sum(timings.values()):.1f} s."
        )
