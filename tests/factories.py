"""factory_boy factories for the domain models."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import ContactPoint, Customer, ExternalId, Purchase, SocialIdentity


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    locale = "fr-FR"


class EmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(CustomerFactory)
    kind = ContactPoint.Kind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.org")
    raw = factory.SelfAttribute("value")
    verified = True
    is_primary = True


class PhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(CustomerFactory)
    kind = ContactPoint.Kind.PHONE
    value = factory.Sequence(lambda n: f"+336{12000000 + n:08d}")
    verified = True
    is_primary = True


class ExternalIdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalId

    customer = factory.SubFactory(CustomerFactory)
    source = "shop"
    value = factory.Sequence(lambda n: f"C{n}")


class SocialIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SocialIdentity

    network = "x"
    external_id = factory.Sequence(lambda n: str(10_000 + n))
    handle = factory.Sequence(lambda n: f"handle{n}")
    handle_normalized = factory.LazyAttribute(lambda o: o.handle.lower())
    customer = factory.SubFactory(CustomerFactory)
    link_method = SocialIdentity.LinkMethod.DECLARED


class PurchaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purchase

    customer = factory.SubFactory(CustomerFactory)
    source = "shop"
    external_id = factory.Sequence(lambda n: f"O{n}")
    amount = Decimal("49.90")
    margin = Decimal("15.00")
    currency = "EUR"
    purchased_at = factory.LazyFunction(timezone.now)
    channel = "web"


class PostFactory(factory.django.DjangoModelFactory):
    """A post about nothing in particular: neutral, no engagement, matched by no rule."""

    class Meta:
        model = "social.Post"

    network = "x"
    external_id = factory.Sequence(lambda n: f"post{n}")
    author = factory.SubFactory(SocialIdentityFactory)
    created_at = factory.LazyFunction(timezone.now)
    sentiment = 0.0
    sentiment_label = "neutral"
    sentiment_model = "test"
    source = "api"


class SocialEdgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "social.SocialEdge"

    source = factory.SubFactory(SocialIdentityFactory)
    target = factory.SubFactory(SocialIdentityFactory)
    kind = "mention"
    weight = 1
    last_seen = factory.LazyFunction(timezone.now)
    first_seen = factory.SelfAttribute("last_seen")
