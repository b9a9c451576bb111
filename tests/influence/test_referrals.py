"""Referral services: codes, recording (idempotent pair, refusals, type inference),
conversion at the first purchase (hook and nightly catch-up) and the reward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.merge import customer_merge, merge_undo
from customers.registry import purchase_hooks
from customers.services import purchase_record
from influence.models import Referral, ReferralCode
from influence.referrals import (
    CODE_ALPHABET,
    ReferralConflict,
    referral_code_for,
    referral_record,
    referral_reward_mark_paid,
    referrals_convert_for_purchase,
    referrals_convert_pending,
)
from scrm.actors import Actor
from scrm.errors import Conflict, ValidationFailed
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def new_customer(**fields: object):
    """A customer whose record was created with the referral (signing up with the code)."""
    return CustomerFactory(created_at=fields.pop("created_at", T0 - timedelta(minutes=5)), **fields)


def record(referrer, referred, **fields: object) -> tuple[Referral, bool]:
    fields.setdefault("channel", "declared")
    fields.setdefault("referred_at", T0)
    return referral_record(referrer=referrer, referred=referred, actor=SYSTEM, **fields)  # type: ignore[arg-type]


# --- codes ---------------------------------------------------------------------------


def test_a_code_is_made_once_per_customer_and_campaign() -> None:
    customer = CustomerFactory()
    code = referral_code_for(customer=customer, actor=SYSTEM)
    assert len(code.code) == 8 and set(code.code) <= set(CODE_ALPHABET)
    assert referral_code_for(customer=customer, actor=SYSTEM) == code
    summer = referral_code_for(customer=customer, campaign="summer", actor=SYSTEM)
    assert summer != code and summer.campaign == "summer"
    assert ReferralCode.objects.filter(customer=customer).count() == 2


def test_a_tombstones_code_is_its_survivors() -> None:
    survivor, other = CustomerFactory(), CustomerFactory()
    customer_merge(survivor=survivor, other=other, actor=SYSTEM)
    assert referral_code_for(customer=other, actor=SYSTEM).customer == survivor


def test_campaign_names_are_bounded() -> None:
    with pytest.raises(ValidationFailed) as refused:
        referral_code_for(customer=CustomerFactory(), campaign="x" * 101, actor=SYSTEM)
    assert "campaign" in refused.value.field_errors


# --- recording -------------------------------------------------------------------------


def test_the_same_pair_twice_returns_the_first_unchanged() -> None:
    referrer, referred = CustomerFactory(), new_customer()
    first, created = record(referrer, referred, campaign="autumn")
    again, created_again = record(referrer, referred, channel="link", campaign="other", type="2")
    assert created and not created_again
    assert again.pk == first.pk and (again.channel, again.campaign, again.type) == ("declared", "autumn", "1")
    assert Referral.objects.count() == 1


def test_nobody_refers_themselves_even_through_a_merge() -> None:
    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as refused:
        record(customer, customer)
    assert "referred" in refused.value.field_errors
    tombstone = CustomerFactory()
    customer_merge(survivor=customer, other=tombstone, actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        record(customer, tombstone)


def test_tombstones_are_replaced_by_their_survivors() -> None:
    referrer, old_record, referred = CustomerFactory(), CustomerFactory(), new_customer()
    customer_merge(survivor=referrer, other=old_record, actor=SYSTEM)
    referral, _ = record(old_record, referred)
    assert referral.referrer == referrer


def test_a_customer_referred_by_someone_else_is_a_conflict() -> None:
    first, second, referred = CustomerFactory(), CustomerFactory(), new_customer()
    record(first, referred)
    with pytest.raises(ReferralConflict) as refused:
        record(second, referred)
    assert isinstance(refused.value, Conflict) and refused.value.status == 409
    assert f"customer {first.pk}" in refused.value.field_errors["referred"][0]


def test_codes_must_exist_be_active_and_be_the_referrers() -> None:
    referrer, stranger = CustomerFactory(), CustomerFactory()
    theirs = referral_code_for(customer=stranger, actor=SYSTEM)
    for code, message in [
        ("NOPE2345", "Unknown"),
        (theirs.code, "another customer"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            record(referrer, new_customer(), code=code, channel="code")
        assert message in refused.value.field_errors["code"][0]
    mine = referral_code_for(customer=referrer, campaign="spring", actor=SYSTEM)
    ReferralCode.objects.filter(pk=mine.pk).update(active=False)
    with pytest.raises(ValidationFailed, match="no longer active"):
        record(referrer, new_customer(), code=mine.code, channel="code")
    assert not Referral.objects.exists()


def test_a_code_as_typed_is_found_and_brings_its_campaign() -> None:
    referrer = CustomerFactory()
    code = referral_code_for(customer=referrer, campaign="spring", actor=SYSTEM)
    typed = f" {code.code[:4].lower()}-{code.code[4:].lower()} "
    referral, _ = record(referrer, new_customer(), code=typed, channel="code")
    assert referral.code == code and referral.campaign == "spring"


def test_bad_channel_and_type_are_field_errors() -> None:
    with pytest.raises(ValidationFailed) as refused:
        record(CustomerFactory(), new_customer(), channel="pigeon", type="3")
    assert set(refused.value.field_errors) == {"channel", "type"}


@pytest.mark.parametrize(
    ("known", "expected"),
    [
        ({}, "1"),  # record made with the referral (sign-up), no purchase, no consent before
        ({"created_at": T0 - timedelta(days=30)}, "2"),  # on file a month before
        ({"consent_marketing_email": True, "consent_marketing_email_at": T0 - timedelta(days=10)}, "2"),
        ({"purchase_at": T0 - timedelta(hours=1)}, "2"),  # bought before the referral
        ({"purchase_at": T0 + timedelta(hours=1)}, "1"),  # bought after it: the referral's doing
    ],
)
def test_the_type_is_inferred_from_what_was_known_before(known: dict, expected: str) -> None:
    purchase_at = known.pop("purchase_at", None)
    referred = new_customer(**known)
    if purchase_at:
        PurchaseFactory(customer=referred, purchased_at=purchase_at)
    referral, _ = record(CustomerFactory(), referred)
    assert (referral.type, referral.type_inferred) == (expected, True)


def test_a_given_type_is_kept() -> None:
    referral, _ = record(CustomerFactory(), new_customer(created_at=T0 - timedelta(days=400)), type="1")
    assert (referral.type, referral.type_inferred) == ("1", False)


# --- conversion ------------------------------------------------------------------------


def test_the_purchase_hook_converts_at_the_first_purchase_after_the_referral(
    django_capture_on_commit_callbacks, settings
) -> None:
    settings.REFERRAL_DEFAULT_REWARD = 12.5
    assert referrals_convert_for_purchase in purchase_hooks()
    referral, _ = record(CustomerFactory(), new_customer())
    assert referral.converted_at is None and referral.reward_amount == 0

    with django_capture_on_commit_callbacks(execute=True):
        purchase, _ = purchase_record(
            customer=referral.referred,
            external_id="A1",
            amount=Decimal("80"),
            purchased_at=T0 + timedelta(days=2),
            actor=SYSTEM,
        )

    referral.refresh_from_db()
    assert referral.converted_at == T0 + timedelta(days=2) and referral.conversion_purchase == purchase
    assert referral.reward_amount == Decimal("12.50") and referral.reward_paid_at is None


def test_a_failing_hook_never_loses_the_purchase(django_capture_on_commit_callbacks, monkeypatch) -> None:
    def broken(*, purchase) -> None:
        raise RuntimeError("down")

    monkeypatch.setattr("customers.registry._purchase_hooks", [broken, referrals_convert_for_purchase])
    referral, _ = record(CustomerFactory(), new_customer())
    with django_capture_on_commit_callbacks(execute=True):
        purchase, created = purchase_record(
            customer=referral.referred, external_id="B1", amount=Decimal("9"), purchased_at=T0, actor=SYSTEM
        )
    assert created and purchase.pk
    referral.refresh_from_db()
    assert referral.conversion_purchase == purchase  # the next hook still ran


def test_purchases_out_of_order_and_before_the_referral(django_capture_on_commit_callbacks) -> None:
    referral, _ = record(CustomerFactory(), new_customer())
    referred = referral.referred

    def buy(ref: str, when: datetime) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            purchase_record(
                customer=referred, external_id=ref, amount=Decimal("5"), purchased_at=when, actor=SYSTEM
            )

    buy("before", T0 - timedelta(days=1))  # before the referral: not a conversion
    referral.refresh_from_db()
    assert referral.converted_at is None
    buy("late", T0 + timedelta(days=9))
    buy("early", T0 + timedelta(days=3))  # arrives later, happened earlier: the conversion moves
    referral.refresh_from_db()
    assert referral.converted_at == T0 + timedelta(days=3)
    assert referral.conversion_purchase.external_id == "early"  # type: ignore[union-attr]
    buy("later", T0 + timedelta(days=20))
    referral.refresh_from_db()
    assert referral.converted_at == T0 + timedelta(days=3)


def test_a_referral_recorded_after_the_purchase_converts_at_once() -> None:
    referred = new_customer()
    PurchaseFactory(customer=referred, purchased_at=T0 + timedelta(hours=2))
    referral, _ = record(CustomerFactory(), referred, referred_at=T0)
    assert referral.converted_at == T0 + timedelta(hours=2)


def test_the_nightly_catch_up_converts_bulk_imports_once() -> None:
    referrals = [record(CustomerFactory(), new_customer())[0] for _ in range(3)]
    PurchaseFactory(customer=referrals[0].referred, purchased_at=T0 + timedelta(days=1))
    PurchaseFactory(customer=referrals[1].referred, purchased_at=T0 + timedelta(days=40))  # after as_of

    assert referrals_convert_pending(as_of=(T0 + timedelta(days=10)).date()) == 1
    assert referrals_convert_pending(as_of=T0 + timedelta(days=10)) == 0
    converted = dict(Referral.objects.values_list("pk", "converted_at"))
    assert converted[referrals[0].pk] == T0 + timedelta(days=1)
    assert converted[referrals[1].pk] is None and converted[referrals[2].pk] is None
    assert referrals_convert_pending(as_of=T0 + timedelta(days=60)) == 1


def test_a_merge_carries_referrals_to_the_survivor() -> None:
    referrer, referred, duplicate = CustomerFactory(), new_customer(), CustomerFactory()
    referral, _ = record(referrer, referred)
    code = referral_code_for(customer=referrer, actor=SYSTEM)
    customer_merge(survivor=duplicate, other=referrer, actor=SYSTEM)
    referral.refresh_from_db()
    code.refresh_from_db()
    assert referral.referrer == duplicate and code.customer == duplicate


def test_merging_a_referrer_with_the_customer_they_referred_keeps_the_referral_aside() -> None:
    # Someone referring their own second account: merged, the referral would refer the
    # survivor to itself; it stays on the tombstone, and undo puts everything back.
    referrer, second_account = CustomerFactory(), new_customer()
    referral, _ = record(referrer, second_account)

    event = customer_merge(survivor=referrer, other=second_account, actor=SYSTEM)

    referral.refresh_from_db()
    assert (referral.referrer_id, referral.referred_id) == (referrer.pk, second_account.pk)
    merge_undo(event=event, actor=SYSTEM)
    referral.refresh_from_db()
    assert (referral.referrer_id, referral.referred_id) == (referrer.pk, second_account.pk)


def test_merging_two_records_of_one_referred_friend_keeps_one_pair() -> None:
    referrer, friend, friend_again, other_friend = (
        CustomerFactory(),
        new_customer(),
        new_customer(),
        new_customer(),
    )
    kept, _ = record(referrer, friend)
    duplicate, _ = record(referrer, friend_again)
    made_by_twin, _ = record(friend_again, other_friend)
    record(friend, CustomerFactory())

    event = customer_merge(survivor=friend, other=friend_again, actor=SYSTEM)

    assert Referral.objects.get(pk=kept.pk).referred == friend
    assert Referral.objects.get(pk=duplicate.pk).referred == friend_again  # stays on the tombstone
    assert Referral.objects.get(pk=made_by_twin.pk).referrer == friend  # an ordinary move
    merge_undo(event=event, actor=SYSTEM)
    assert Referral.objects.get(pk=made_by_twin.pk).referrer == friend_again


# --- reward ----------------------------------------------------------------------------


def test_a_reward_is_owed_from_conversion_and_paid_once() -> None:
    referral, _ = record(CustomerFactory(), new_customer())
    with pytest.raises(ReferralConflict, match="not converted"):
        referral_reward_mark_paid(referral=referral, actor=SYSTEM)
    PurchaseFactory(customer=referral.referred, purchased_at=T0 + timedelta(days=1))
    referrals_convert_pending(as_of=timezone.now())

    paid = referral_reward_mark_paid(referral=referral, actor=SYSTEM)

    assert paid.reward_paid_at is not None and paid.reward_amount == Decimal("10.00")
    with pytest.raises(ReferralConflict, match="already marked paid"):
        referral_reward_mark_paid(referral=referral, actor=SYSTEM)
