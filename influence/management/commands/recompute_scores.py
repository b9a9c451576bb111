"""Recompute every score now (what the nightly beat task does), showing the steps; or fill
in history: the scores as they were at the end of past months, for trends from day one."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from influence.models import ScoreRun
from influence.scoring import STEPS, ScoresBusy, scores_recompute

MAX_HISTORY_MONTHS = 36


def _end_of(day: date) -> datetime:
    """The last moment of `day` in the installation's time zone."""
    return timezone.make_aware(datetime.combine(day, time.max))


def month_ends(months: int, today: date) -> list[date]:
    """The last days of the `months` months before this one, oldest first."""
    ends, first = [], today.replace(day=1)
    for _ in range(months):
        last = first - timedelta(days=1)
        ends.append(last)
        first = last.replace(day=1)
    return ends[::-1]


class Command(BaseCommand):
    help = "Recompute influence, CLV, CRV, segments, sentiment index and NPS category of every customer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-rollups", action="store_true", help="do not rebuild the dashboard rollups of every day"
        )
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            metavar="MONTHS",
            help="first compute the scores as they were at the end of each of the last MONTHS months",
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="only the scores at the end of that day",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        months, as_of = options["history"], options["as_of"]
        if not 0 <= months <= MAX_HISTORY_MONTHS:
            raise CommandError(f"--history takes 0 to {MAX_HISTORY_MONTHS} months.")
        if as_of is not None and as_of >= today:
            raise CommandError("--as-of must be a past day (today's scores: leave it out).")
        moments: list[datetime | None] = [_end_of(day) for day in month_ends(months, today)]
        moments.append(_end_of(as_of) if as_of is not None else None)
        for moment in moments:
            self._run(moment, rollups=not options["no_rollups"])

    def _run(self, moment: datetime | None, *, rollups: bool) -> ScoreRun:
        with tqdm(total=len(STEPS), unit=" steps", file=self.stderr, disable=None) as bar:

            def progress(step: str, done: int, total: int) -> None:
                bar.set_postfix_str(step)
                bar.n = done
                bar.refresh()

            try:
                run = scores_recompute(trigger="command", as_of=moment, progress=progress, rollups=rollups)
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
        return run
