"""Import posts from a file (JSONL or CSV in the api-contract shape) or from the demo
stream, page by page through the provider, each page ingested in its own transaction.

    python manage.py ingest --provider files --path posts.jsonl [--batch-size 500] [--format csv]
    python manage.py ingest --provider fake [--count 300] [--seed 7]

Importing the same file again stores nothing twice. A malformed record is reported
with its line number and skipped; the rest is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from social.ingestion import IngestSummary, post_ingest_batch
from social.models import Post
from social.providers.base import FetchQuery, Provider, ProviderError, Stream
from social.providers.fake import FakeProvider
from social.providers.files import FilesProvider

FORMATS = ("jsonl", "csv")
MAX_LISTED = 20


class Command(BaseCommand):
    help = "Import posts from a JSONL or CSV file (--provider files) or the demo stream (--provider fake)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", required=True, help="files or fake")
        parser.add_argument("--path", help="The file to import (files).")
        parser.add_argument("--format", dest="file_format", help="jsonl or csv (default: from the suffix).")
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Posts per transaction (default 500)."
        )
        parser.add_argument("--count", type=int, default=300, help="Demo posts to make (fake).")
        parser.add_argument("--seed", type=int, default=7, help="Seed of the demo stream (fake).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        provider, total = self._provider(options)
        summary = IngestSummary()
        cursor: str | None = None
        # The bar goes to the raw stream: Django's wrapper would end every refresh with a newline.
        stream = getattr(self.stderr, "_out", self.stderr)
        with tqdm(total=total, unit=" records", file=stream, disable=options["verbosity"] == 0) as bar:
            while True:
                query = FetchQuery(stream=Stream.FEED, cursor=cursor, limit=options["batch_size"])
                try:
                    page = provider.fetch(query)
                except ProviderError as error:
                    raise CommandError(error.message) from error
                summary.add(
                    post_ingest_batch(source=Post.Source.FILE, posts=page.posts, problems=page.problems)
                )
                bar.update(len(page.posts) + len(page.problems))
                cursor = page.next_cursor
                if cursor is None:
                    break
        self._report(summary)

    def _provider(self, options: dict[str, Any]) -> tuple[Provider, int | None]:
        """The provider asked for, and how many records it will give when known."""
        name = options["provider"]
        if name == "fake":
            if options["count"] < 0:
                raise CommandError("--count must be 0 or more.")
            return FakeProvider(count=options["count"], seed=options["seed"]), options["count"]
        if name != "files":
            raise CommandError(f"Unknown provider {name!r}: use files or fake.")
        if not options["path"]:
            raise CommandError("--provider files needs --path FILE.")
        file_format = options["file_format"]
        if file_format is not None and file_format.lower() not in FORMATS:
            raise CommandError(f"Unknown format {file_format!r}: use jsonl or csv.")
        return FilesProvider(options["path"], file_format=file_format), None

    def _report(self, summary: IngestSummary) -> None:
        rejected = len(summary.rejected)
        self.stdout.write(
            f"Read {summary.read}: {summary.new} new, {summary.duplicates} duplicates, {rejected} rejected."
        )
        self.stdout.write(
            f"Linked to customers: {summary.linked}; flagged: {summary.flagged}; "
            f"cases opened: {summary.cases_opened}."
        )
        if rejected:
            self.stdout.write("Rejected:")
            for problem in summary.rejected[:MAX_LISTED]:
                self.stdout.write(f"  {problem.location}: {problem.message}")
            if rejected > MAX_LISTED:
                self.stdout.write(f"  ... and {rejected - MAX_LISTED} more")
