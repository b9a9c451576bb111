"""Create a partner API key and print it once: only its hash is stored."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scrm.actors import Actor
from scrm.errors import ValidationFailed
from scrm.services import api_key_create


class Command(BaseCommand):
    help = "Create a partner API key (printed once) with the given scopes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes", required=True, help="Comma-separated, e.g. customers:read,customers:write"
        )
        parser.add_argument("--rate", type=int, default=None, help="Requests per minute (default: settings)")

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [s.strip() for s in str(options["scopes"]).split(",") if s.strip()]
        try:
            api_key, plain = api_key_create(
                name=str(options["name"]),
                scopes=scopes,
                rate_per_minute=options["rate"],
                actor=Actor.system("create_api_key"),
            )
        except ValidationFailed as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(plain)
        self.stderr.write(
            f"Key {api_key.name} ({api_key.prefix}) with scopes {', '.join(api_key.scopes)}. "
            "Store it now: it is not shown again."
        )
