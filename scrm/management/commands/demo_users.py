"""Create one demo user per role (admin, marketing, agent) and print how to sign in."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from scrm.roles import ADMIN, AGENT, MARKETING, sync_roles

DEMO_USERS = (
    ("admin", ADMIN, "Alice", "Martin"),
    ("marketing", MARKETING, "Marc", "Dubois"),
    ("agent", AGENT, "Sophie", "Bernard"),
)


class Command(BaseCommand):
    help = "Create the demo users admin / marketing / agent with one password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="demo")

    def handle(self, *args: Any, **options: Any) -> None:
        sync_roles()
        User = get_user_model()
        for username, role, first, last in DEMO_USERS:
            user, _ = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            user.set_password(str(options["password"]))
            user.is_staff = role == ADMIN
            user.is_superuser = role == ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=role)])
        self.stdout.write("Sign in as admin, marketing or agent, password: " + str(options["password"]))
