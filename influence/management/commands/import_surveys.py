"""Import NPS and CSAT answers from a CSV file (columns: see influence.surveys_import)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from influence.surveys_import import SurveyImportRejected, surveys_import_csv
from scrm.actors import Actor


class Command(BaseCommand):
    help = (
        "Import survey answers from FILE.csv: kind (nps|csat), score, answered_at (ISO), and the "
        "customer by customer id, email or external_id (source:id); comment, channel, campaign "
        "optional. All or nothing; the same file twice adds nothing the second time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            with path.open(newline="", encoding="utf-8-sig") as stream:
                summary = surveys_import_csv(
                    stream=stream, actor=Actor.system(f"import_surveys {path.name}"), source_name=path.name
                )
        except SurveyImportRejected as exc:
            raise CommandError(f"{path.name}: {exc.message}") from exc
        except (UnicodeDecodeError, OSError) as exc:
            raise CommandError(f"{path.name}: cannot be read as UTF-8 CSV ({exc})") from exc
        kinds = ", ".join(f"{n} {kind.upper()}" for kind, n in sorted(summary.by_kind.items())) or "none"
        self.stdout.write(
            f"{summary.rows} rows: {summary.created} answers imported ({kinds}), "
            f"{summary.already_imported} already there."
        )
