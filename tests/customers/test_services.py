"""The customer services: normalisation, matching and their invariants."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.errors import ValidationFailed
from customers.inputs import ContactInput, CustomerData
from customers.models import Customer, Purchase
from customers.normalize import InvalidValue, normalize_email, normalize_handle, normalize_phone
from customers.services import customer_upsert, purchase_record
from scrm.actors import Actor
from tests.factories import CustomerFactory

SYSTEM = Actor.system("test")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0033 6 12 34 56 78", "FR", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "FR", "+33612345678"),
        ("07911 123456", "GB", "+447911123456"),
        ("+1 (415) 555-2671", "FR", "+14155552671"),
    ],
)
def test_phone_numbers_become_e164(raw, region, expected):
    assert normalize_phone(raw, region=region) == expected


@pytest.mark.parametrize("raw", ["", "12", "abc", "+33 1"])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidValue):
        normalize_phone(raw, region="FR")


def test_email_and_handle_normalisation():
    assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert normalize_handle("@Jane_Doe") == "jane_doe"
    with pytest.raises(InvalidValue):
        normalize_email("jane@")
    with pytest.raises(InvalidValue):
        normalize_handle("two words")


@pytest.mark.django_db
def test_locale_decides_how_a_national_phone_is_read():
    customer, _ = customer_upsert(
        data=CustomerData(first_name="Tom", locale="en-GB", phones=[ContactInput("07911 123456")]),
        actor=SYSTEM,
    )
    assert customer.contact_points.get().value == "+447911123456"


@pytest.mark.django_db
def test_validation_reports_every_bad_field_at_once_and_stores_nothing():
    data = CustomerData(first_name="A", emails=[ContactInput("bad")], phones=[ContactInput("12")])
    with pytest.raises(ValidationFailed) as caught:
        customer_upsert(data=data, actor=SYSTEM)
    assert set(caught.value.field_errors) == {"emails", "phones"}
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_purchase_is_recorded_once_per_source_and_id():
    customer = CustomerFactory()
    args = {
        "customer": customer,
        "external_id": "O-1",
        "amount": Decimal("10.00"),
        "purchased_at": timezone.now(),
        "actor": SYSTEM,
        "margin": Decimal("3.00"),
    }
    first = purchase_record(**args)
    second = purchase_record(**args)
    assert first[1] is True and second[1] is False
    assert Purchase.objects.count() == 1
    with pytest.raises(ValidationFailed):
        purchase_record(**{**args, "external_id": "O-2", "amount": Decimal("-1")})


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_a_new_customer_create_one():
    """Two partners sending the same new customer at once: one record, never two."""
    data = CustomerData(first_name="Zoé", external_ids={"shop": "Z-1"})
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait()
            customer_upsert(data=data, actor=SYSTEM)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Customer.objects.count() == 1
