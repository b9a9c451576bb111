"""Find duplicate customers: merge the sure pairs, queue the doubtful ones for review."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customers.matching import RESOLUTION_STEPS, resolve_customers
from scrm.actors import Actor
from scrm.errors import ValidationFailed


class Command(BaseCommand):
    help = "Score candidate duplicate pairs; merge above the auto threshold, queue between the two."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--auto-merge-threshold", type=float, default=None)
        parser.add_argument("--review-threshold", type=float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=RESOLUTION_STEPS, unit=" steps", file=self.stderr, disable=None) as bar:

            def step(message: str) -> None:
                bar.set_postfix_str(message)
                bar.update()

            try:
                summary = resolve_customers(
                    actor=Actor.system("resolve_identities"),
                    auto_threshold=options["auto_merge_threshold"],
                    review_threshold=options["review_threshold"],
                    progress=step,
                )
            except ValidationFailed as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{summary.records} customers, {summary.pairs_scored} pairs scored: "
            f"{summary.merged} merged, {summary.queued} queued for review, "
            f"{summary.already_decided} already decided, {summary.dropped} dropped; "
            f"{summary.identities_linked} social accounts linked to their customer."
        )
        for error in summary.errors:
            self.stderr.write(f"not merged: {error}")
