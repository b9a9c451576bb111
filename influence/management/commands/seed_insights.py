"""Demo data for the insights: survey answers over six months, referrals between demo
customers (through the referral service, so types are inferred and conversions found the
way production finds them), programme costs and objectives. Same --seed, same data."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from influence.models import Objective, ProgrammeCost, Referral, SurveyResponse
from influence.objectives import objective_create
from influence.referrals import ReferralConflict, referral_code_for, referral_record
from influence.roi import add_months, month_start
from influence.roi_services import programme_cost_set
from scrm.actors import Actor
from scrm.errors import DomainError
from social.models import ListeningRule

CAMPAIGNS = ("Kettle 2 launch", "Spring newsletter", "")
CHANNELS = ("email", "web", "case", "sms")
MONTHS = 6
COSTS = {"rewards": 150, "agent_hours": 900, "subscriptions": 300, "campaigns": 400}


class Command(BaseCommand):
    help = "Load demo survey answers, referrals, programme costs and objectives (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--answers", type=int, default=700)
        parser.add_argument("--referrals", type=int, default=160)

    def handle(self, *args: Any, **options: Any) -> None:
        if Referral.objects.exists() or ProgrammeCost.objects.exists():
            self.stdout.write("Demo insights already loaded; nothing to do.")
            return
        rng = random.Random(options["seed"])
        actor = Actor.system("demo")
        customers = list(Customer.objects.filter(merged_into__isnull=True).order_by("pk"))
        if len(customers) < 10:
            self.stdout.write("Too few customers for demo insights (run seed_demo first); nothing done.")
            return
        with transaction.atomic():
            answers = self._answers(rng, customers, options["answers"])
            referrals, refused = self._referrals(rng, customers, options["referrals"], actor)
            self._costs_and_objectives(rng, actor)
            ListeningRule.objects.filter(kind="brand", stream="search").update(campaign=CAMPAIGNS[0])
        self.stdout.write(
            f"Demo insights: {answers} survey answers, {referrals} referrals ({refused} refused as "
            f"duplicates), {ProgrammeCost.objects.count()} monthly costs, "
            f"{Objective.objects.count()} objectives."
        )

    def _answers(self, rng: random.Random, customers: list[Customer], count: int) -> int:
        """NPS answers whose mix improves month after month (the programme works), and CSAT."""
        now = timezone.now()
        rows = []
        for _ in range(count):
            days_ago = rng.randint(0, MONTHS * 30)
            progress = 1 - days_ago / (MONTHS * 30)  # 0 six months ago -> 1 today
            kind = "nps" if rng.random() < 0.75 else "csat"
            if kind == "nps":
                promoter, detractor = 0.38 + 0.17 * progress, 0.30 - 0.12 * progress
                draw = rng.random()
                if draw < promoter:
                    score = rng.randint(9, 10)
                elif draw < promoter + detractor:
                    score = rng.randint(0, 6)
                else:
                    score = rng.randint(7, 8)
            else:
                score = rng.choices([1, 2, 3, 4, 5], weights=[5, 7, 15, 38, 35])[0]
            rows.append(
                SurveyResponse(
                    customer=rng.choice(customers), kind=kind, score=score,
                    channel=rng.choice(CHANNELS), campaign=rng.choice(CAMPAIGNS),
                    answered_at=now - timedelta(days=days_ago, minutes=rng.randint(0, 1440)),
                )
            )  # fmt: skip
        SurveyResponse.objects.bulk_create(rows, batch_size=500)
        return len(rows)

    def _referrals(
        self, rng: random.Random, customers: list[Customer], count: int, actor: Actor
    ) -> tuple[int, int]:
        """A few enthusiastic referrers bring most friends (as in real programmes)."""
        referrers = rng.sample(customers, k=max(3, len(customers) // 40))
        weights = [min(rng.paretovariate(1.3), 8.0) for _ in referrers]
        newest = sorted(customers, key=lambda c: c.created_at, reverse=True)[: max(10, len(customers) // 6)]
        made = refused = 0
        for _ in range(count):
            referrer = rng.choices(referrers, weights=weights)[0]
            # Half of the friends joined lately: the programme is alive in the last months.
            referred = rng.choice(newest if rng.random() < 0.5 else customers)
            if referred.pk == referrer.pk:
                continue
            code = referral_code_for(customer=referrer, actor=actor) if rng.random() < 0.7 else None
            try:
                _referral, created = referral_record(
                    referrer=referrer, referred=referred,
                    channel="code" if code else rng.choice(["link", "declared"]),
                    code=code.code if code else None, campaign=rng.choice(CAMPAIGNS),
                    referred_at=referred.created_at - timedelta(days=rng.randint(1, 20)), actor=actor,
                )  # fmt: skip
            except (ReferralConflict, DomainError):
                refused += 1
                continue
            made += created
        return made, refused

    def _costs_and_objectives(self, rng: random.Random, actor: Actor) -> None:
        this_month = month_start(timezone.localdate())
        for back in range(MONTHS):
            month = add_months(this_month, -back)
            for category, base in COSTS.items():
                amount = Decimal(base) * Decimal(str(round(rng.uniform(0.8, 1.2), 2)))
                programme_cost_set(
                    month=month, category=category, amount=amount.quantize(Decimal("1")), actor=actor
                )
        today = timezone.localdate()
        quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        quarter_end = add_months(quarter_start, 3) - timedelta(days=1)
        for name, metric, direction, target in [
            ("NPS +5 this quarter", "nps_change", "at_least", 5),
            ("First response under 1 h", "first_response_minutes", "at_most", 60),
            ("Share of voice 60 %", "share_of_voice", "at_least", 60),
            ("20 converted referrals", "referrals_converted", "at_least", 20),
        ]:
            objective_create(
                name=name, metric=metric, direction=direction, target=target,
                period_start=quarter_start, period_end=quarter_end, actor=actor,
            )  # fmt: skip
