"""Set up the demo's social listening: a demo stream account, brand, competitor and
mention rules, a few customers who declared their handles, then poll every rule once.

The demo stream's posts cover the last `--days` days up to today, so the listening
pages have something to show whatever the date. Running it again adds nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from customers.inputs import ContactInput, CustomerData, SocialInput
from customers.services import customer_create
from scrm.actors import Actor
from social.models import ConnectedAccount, ListeningRule
from social.polling import rule_poll
from social.providers.fake import FakeProvider
from social.services import account_create, rule_create

ACCOUNT = "Demo stream"


class Command(BaseCommand):
    help = "Create the demo's social accounts and listening rules, and ingest the demo posts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--posts", type=int, default=800)
        parser.add_argument("--days", type=int, default=45)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--linked-people", type=int, default=24, help="Demo authors who are customers")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("demo")
        if ConnectedAccount.objects.filter(name=ACCOUNT).exists():
            self.stdout.write("Demo social data already loaded; nothing to do.")
            return
        today = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        credentials = {
            "seed": options["seed"], "count": options["posts"], "days": options["days"],
            "start": (today - timedelta(days=options["days"])).isoformat(),
            "brand": "Acme", "brand_handle": "AcmeSupport", "competitor": "Globex", "competitor_share": 0.25,
        }  # fmt: skip
        account = account_create(
            name=ACCOUNT, provider="fake", credentials=credentials, actor=actor,
            handle="AcmeSupport", external_id="fake:AcmeSupport",
        )  # fmt: skip
        no_terms: dict[str, list[str]] = {"keywords": [], "hashtags": [], "handles": [], "languages": []}
        brand_terms = {
            **no_terms,
            "keywords": ["Acme", "Kettle 2"],
            "hashtags": ["acme"],
            "handles": ["AcmeSupport"],
        }
        rules = [
            rule_create(actor=actor, name="Acme (brand)", kind="brand", stream="search", account=account,
                        **brand_terms),
            rule_create(actor=actor, name="Globex (competitor)", kind="competitor", stream="search",
                        account=account, **{**no_terms, "keywords": ["Globex"]}),
            rule_create(actor=actor, name="Mentions of @AcmeSupport", kind="brand", stream="mentions",
                        account=account, **no_terms),
        ]  # fmt: skip
        people = self._declare_customers(
            FakeProvider.from_credentials(credentials), options["linked_people"], actor
        )
        totals = {"new": 0, "flagged": 0, "linked": 0, "cases": 0}
        for rule in rules:
            result = rule_poll(rule_id=rule.pk, max_pages=1000)
            totals["new"] += result.summary.new
            totals["flagged"] += result.summary.flagged
            totals["linked"] += result.summary.linked
            totals["cases"] += result.summary.cases_opened
        ListeningRule.objects.filter(pk__in=[r.pk for r in rules]).update(next_poll_at=None)
        self.stdout.write(
            f"Demo social data: {totals['new']} posts ({totals['linked']} by {people} known customers), "
            f"{totals['flagged']} flagged, {totals['cases']} cases; "
            f"rules: {', '.join(r.name for r in rules)}."
        )

    def _declare_customers(self, provider: FakeProvider, count: int, actor: Actor) -> int:
        """Some demo authors are customers who gave their handle: their posts get linked."""
        rng = random.Random(f"{provider.seed}:customers")
        for persona in provider.personas[:count]:
            first, _, last = persona.author.name.partition(" ")
            # An e-mail and a birth date of their own: namesakes among the demo customers
            # must not look like the same person to identity resolution.
            born = date(1960, 1, 1) + timedelta(days=rng.randint(0, 40 * 365))
            customer_create(
                data=CustomerData(
                    first_name=first, last_name=last, locale=persona.language, source="demo",
                    date_of_birth=born,
                    emails=[ContactInput(value=f"{persona.author.handle}@example.org")],
                    social=[SocialInput(network="x", handle=persona.author.handle)],
                ),
                actor=actor,
            )  # fmt: skip
        return min(count, len(provider.personas))
