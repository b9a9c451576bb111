"""Social accounts linked to their customer only with enough evidence, never against a person."""

from __future__ import annotations

import pytest

from customers.linking import identities_link
from customers.models import SocialIdentity
from scrm.actors import Actor
from scrm.selectors import audit_entries_for
from tests.factories import CustomerFactory, EmailFactory, SocialIdentityFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def _seen(handle: str, **extra) -> SocialIdentity:
    """An account as ingestion sees it: network id known, owner not yet."""
    return SocialIdentityFactory(
        customer=None, handle=handle, handle_normalized=handle.lower(), link_method="", **extra
    )


def test_declared_handle_links_the_account_seen_on_the_network():
    jeanne = CustomerFactory(first_name="Jeanne", last_name="Moreau")
    SocialIdentityFactory(customer=jeanne, external_id=None, handle="JMoreau", handle_normalized="jmoreau")
    seen = _seen("JMoreau")
    summary = identities_link(actor=SYSTEM)
    seen.refresh_from_db()
    assert (summary.linked, seen.customer_id) == (1, jeanne.pk)
    assert seen.link_method == "automatic" and seen.link_confidence == 0.95
    assert seen.link_evidence["rule"] == "declared handle"
    assert "linked" in audit_entries_for(subject=jeanne).first().summary


def test_profile_email_links_only_a_verified_unique_owner():
    paul = CustomerFactory()
    EmailFactory(customer=paul, value="paul@example.org", verified=True)
    other = CustomerFactory()
    EmailFactory(customer=other, value="shared@example.org", verified=False)
    by_email = _seen("whatever1", profile={"email": "Paul@Example.org"})
    unverified = _seen("whatever2", profile={"email": "shared@example.org"})
    identities_link(actor=SYSTEM)
    by_email.refresh_from_db()
    unverified.refresh_from_db()
    assert by_email.customer_id == paul.pk
    assert unverified.customer_id is None


def test_name_links_only_a_unique_namesake_whose_handle_looks_like_the_name():
    unique = CustomerFactory(first_name="Anaïs", last_name="Lefebvre")
    CustomerFactory.create_batch(2, first_name="Jean", last_name="Martin")
    good = _seen("anais_lefebvre", display_name="Anaïs Lefebvre")
    homonym = _seen("jeanmartin", display_name="Jean Martin")
    unlike = _seen("xx_gamer_99", display_name="Anaïs Lefebvre")
    identities_link(actor=SYSTEM)
    for identity in (good, homonym, unlike):
        identity.refresh_from_db()
    assert good.customer_id == unique.pk and good.link_confidence >= 0.8
    assert homonym.customer_id is None  # two customers share the name
    assert unlike.customer_id is None  # the handle does not look like the name


def test_accounts_a_person_linked_or_unlinked_are_never_touched():
    jeanne = CustomerFactory(first_name="Jeanne", last_name="Moreau")
    someone = CustomerFactory()
    SocialIdentityFactory(customer=jeanne, external_id=None, handle="jm", handle_normalized="jm")
    by_hand = SocialIdentityFactory(
        customer=someone, handle="jm", handle_normalized="jm", link_method="manual"
    )
    unlinked_by_hand = _seen("jm")
    unlinked_by_hand.link_method = SocialIdentity.LinkMethod.MANUAL
    unlinked_by_hand.save()
    identities_link(actor=SYSTEM)
    by_hand.refresh_from_db()
    unlinked_by_hand.refresh_from_db()
    assert by_hand.customer_id == someone.pk
    assert unlinked_by_hand.customer_id is None
