"""Load a realistic, deterministic demo set of customers (French and English)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from faker import Faker

from customers.models import ContactPoint, Customer, ExternalId, Network, Purchase, SocialIdentity
from customers.normalize import InvalidValue, normalize_phone

DEMO_SOURCE = "shop"
CHANNELS = ("web", "store", "app", "marketplace")


class Command(BaseCommand):
    help = "Create demo customers with purchases and social identities (same --seed, same data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--social-share", type=float, default=0.3)
        parser.add_argument(
            "--duplicate-share", type=float, default=0.03, help="Share of customers also entered twice"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if ExternalId.objects.filter(source=DEMO_SOURCE).exists():
            self.stdout.write("Demo customers already loaded; nothing to do.")
            return
        seed = int(options["seed"])
        count = int(options["customers"])
        created = self._load(
            count=count,
            seed=seed,
            social_share=float(options["social_share"]),
            duplicate_share=float(options["duplicate_share"]),
        )
        self.stdout.write(
            f"Loaded {created['customers']} customers, {created['purchases']} purchases, "
            f"{created['identities']} social identities, {created['duplicates']} customers entered "
            f"twice (seed {seed})."
        )

    @transaction.atomic
    def _load(self, *, count: int, seed: int, social_share: float, duplicate_share: float) -> dict[str, int]:
        rng = random.Random(seed)
        fakers = {"fr-FR": Faker("fr_FR"), "en-GB": Faker("en_GB")}
        for i, faker in enumerate(fakers.values()):
            faker.seed_instance(seed + i)
        now = timezone.now().replace(microsecond=0)
        customers, extras = [], []
        for n in range(count):
            locale = "fr-FR" if rng.random() < 0.6 else "en-GB"
            faker = fakers[locale]
            first, last = faker.first_name(), faker.last_name()
            created_at = now - timedelta(days=rng.randint(30, 3 * 365))
            customers.append(
                Customer(
                    first_name=first,
                    last_name=last,
                    locale=locale,
                    date_of_birth=faker.date_of_birth(minimum_age=18, maximum_age=80),
                    consent_marketing_email=rng.random() < 0.55,
                    consent_data_processing=True,
                    consent_data_processing_at=created_at,
                    consent_social_autopost=rng.random() < 0.15,
                    created_at=created_at,
                )
            )
            extras.append((n, locale, faker, first, last, created_at))
        Customer.objects.bulk_create(customers, batch_size=500)
        points: list[ContactPoint] = []
        ext_ids: list[ExternalId] = []
        purchases: list[Purchase] = []
        identities: list[SocialIdentity] = []
        for (n, locale, faker, first, last, created_at), customer in zip(extras, customers, strict=True):
            if customer.consent_marketing_email:
                customer.consent_marketing_email_at = created_at
            if customer.consent_social_autopost:
                customer.consent_social_autopost_at = created_at
            slug = faker.user_name()
            email = f"{slug}{n}@{faker.free_email_domain()}".lower()
            points.append(
                ContactPoint(
                    customer=customer,
                    kind="email",
                    value=email,
                    raw=email,
                    verified=True,
                    is_primary=True,
                    source=DEMO_SOURCE,
                )
            )
            try:
                phone = normalize_phone(faker.phone_number(), region=locale[-2:])
                points.append(
                    ContactPoint(
                        customer=customer,
                        kind="phone",
                        value=phone,
                        raw=phone,
                        verified=rng.random() < 0.7,
                        is_primary=True,
                        source=DEMO_SOURCE,
                    )
                )
            except InvalidValue:
                pass
            address = {
                "street": faker.street_address(),
                "postcode": faker.postcode(),
                "city": faker.city(),
                "country": locale[-2:],
            }
            points.append(
                ContactPoint(
                    customer=customer,
                    kind="postal",
                    value=", ".join(address.values()),
                    details=address,
                    source=DEMO_SOURCE,
                )
            )
            ext_ids.append(ExternalId(customer=customer, source=DEMO_SOURCE, value=f"C{100000 + n}"))
            # A few heavy buyers, many occasional ones (roughly geometric).
            orders = min(int(rng.expovariate(1 / 4)), 40)
            for k in range(orders):
                amount = Decimal(str(round(rng.lognormvariate(3.6, 0.7), 2)))
                purchases.append(
                    Purchase(
                        customer=customer,
                        source=DEMO_SOURCE,
                        external_id=f"O{100000 + n}-{k}",
                        amount=amount,
                        margin=(amount * Decimal(str(round(rng.uniform(0.2, 0.45), 2)))).quantize(
                            Decimal("0.01")
                        ),
                        currency="EUR" if locale == "fr-FR" else "GBP",
                        purchased_at=created_at
                        + timedelta(days=rng.randint(0, max(1, (now - created_at).days))),
                        channel=rng.choice(CHANNELS),
                    )
                )
            if rng.random() < social_share:
                handle = f"{first}{last}{n % 97}".replace(" ", "").replace("'", "")[:15]
                networks = [Network.X] if rng.random() < 0.6 else [Network.FACEBOOK]
                if rng.random() < 0.25:
                    networks = [Network.X, Network.FACEBOOK]
                for network in networks:
                    identities.append(
                        SocialIdentity(
                            network=network,
                            external_id=str(10**15 + n * 7 + len(identities)),
                            handle=handle,
                            handle_normalized=handle.lower(),
                            display_name=f"{first} {last}",
                            followers_count=int(rng.paretovariate(1.2) * 40),
                            customer=customer,
                            link_method=SocialIdentity.LinkMethod.DECLARED,
                            link_confidence=1.0,
                            linked_at=created_at,
                        )
                    )
        Customer.objects.bulk_update(
            customers, ["consent_marketing_email_at", "consent_social_autopost_at"], batch_size=500
        )
        ContactPoint.objects.bulk_create(points, batch_size=1000, ignore_conflicts=True)
        ExternalId.objects.bulk_create(ext_ids, batch_size=1000)
        Purchase.objects.bulk_create(purchases, batch_size=1000)
        SocialIdentity.objects.bulk_create(identities, batch_size=1000)
        twins = self._duplicates(rng=rng, customers=customers, share=duplicate_share)
        return {
            "customers": len(customers),
            "purchases": len(purchases),
            "identities": len(identities),
            "duplicates": twins,
        }

    def _duplicates(self, *, rng: random.Random, customers: list[Customer], share: float) -> int:
        """Second records of some customers, as a point-of-sale system would have typed
        them: a typo or a nickname, another e-mail, the phone often unverified or missing.
        Identity resolution finds them (sure ones merged, doubtful ones queued)."""
        chosen = rng.sample(customers, int(len(customers) * share))
        for original in chosen:
            first, last = original.first_name, original.last_name
            moved = rng.random() < 0.25  # moved house since: only the name and city are left
            variant = rng.random()
            if variant < 0.35 and len(last) > 3:
                i = rng.randrange(1, len(last) - 1)
                last = last[:i] + last[i + 1] + last[i] + last[i + 2 :]  # swapped letters
            elif variant < 0.5:
                first = first[0] + "."
            twin = Customer.objects.create(
                first_name=first,
                last_name=last,
                locale=original.locale,
                date_of_birth=original.date_of_birth if not moved and rng.random() < 0.6 else None,
                created_at=original.created_at + timedelta(days=rng.randint(1, 300)),
            )
            ExternalId.objects.create(customer=twin, source="pos", value=f"P{original.pk}")
            points = {p.kind: p for p in original.contact_points.all()}
            if "phone" in points and not moved and rng.random() < 0.5:
                ContactPoint.objects.create(
                    customer=twin, kind="phone", value=points["phone"].value, verified=False, source="pos"
                )
            if "postal" in points:
                details = dict(points["postal"].details)
                if moved:
                    details.update(street="", postcode="")
                ContactPoint.objects.create(
                    customer=twin, kind="postal", value=", ".join(v for v in details.values() if v),
                    details=details, source="pos",
                )  # fmt: skip
            email = f"{first[0]}{last}{rng.randint(1, 99)}@example.net".lower().replace(" ", "")
            ContactPoint.objects.create(customer=twin, kind="email", value=email, verified=True, source="pos")
        return len(chosen)
