"""Import customers from a CSV file, then run identity resolution on them."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customers.imports import RowError, customers_import_csv
from customers.matching import resolve_customers
from scrm.actors import Actor


class Command(BaseCommand):
    help = "Create or update customers from FILE.csv (see the API docs for columns) and resolve duplicates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--source", default="csv", help="Name of the system the file comes from")
        parser.add_argument("--no-resolve", action="store_true", help="Skip identity resolution")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        actor = Actor.system(f"import_customers {path.name}")
        try:
            with (
                path.open(newline="", encoding="utf-8-sig") as stream,
                tqdm(unit=" rows", disable=None, file=self.stderr) as bar,
            ):
                summary = customers_import_csv(
                    stream=stream, actor=actor, source=options["source"], on_row=lambda: bar.update()
                )
        except (RowError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        for line, reason in summary.rejected:
            self.stderr.write(f"line {line}: {reason}")
        self.stdout.write(
            f"{summary.rows} rows: {summary.created} created, {summary.updated} matched existing customers, "
            f"{len(summary.rejected)} rejected."
        )
        if summary.customer_ids and not options["no_resolve"]:
            result = resolve_customers(actor=actor, only_ids=summary.customer_ids)
            self.stdout.write(
                f"Resolution: {result.pairs_scored} pairs scored, {result.merged} merged, "
                f"{result.queued} queued for review."
            )
