"""Merging never loses data and can always be undone exactly."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from customers.merge import MergeRefused, customer_merge, merge_undo
from customers.models import ContactPoint, Customer, ExternalId, MergeEvent, Purchase, SocialIdentity
from scrm.actors import Actor
from scrm.errors import ValidationFailed
from tests.factories import (
    CustomerFactory,
    EmailFactory,
    ExternalIdFactory,
    PhoneFactory,
    PurchaseFactory,
    SocialIdentityFactory,
)

SYSTEM = Actor.system("test")


def _state() -> dict[str, list[dict]]:
    """Every row of every customer table, as plain dicts, to compare before and after."""
    return {
        model.__name__: sorted(
            (model_to_dict(row) | {"id": row.pk} for row in model.objects.all()), key=lambda r: r["id"]
        )
        for model in (Customer, ContactPoint, ExternalId, SocialIdentity, Purchase)
    }


@pytest.fixture
def two_records(db):
    survivor = CustomerFactory(first_name="Jeanne", last_name="Moreau", locale="", date_of_birth=None)
    other = CustomerFactory(
        first_name="J.",
        last_name="Moreau",
        locale="fr-FR",
        date_of_birth="1980-02-03",
        attributes={"vip": True},
    )
    for customer, n in ((survivor, 1), (other, 2)):
        EmailFactory(customer=customer, value=f"jeanne{n}@example.fr")
        PhoneFactory(customer=customer, value=f"+3361234567{n}")
        ExternalIdFactory(customer=customer, value=f"C-{n}")
        SocialIdentityFactory(customer=customer)
        PurchaseFactory.create_batch(2, customer=customer)
    EmailFactory(customer=other, value="jeanne1@example.fr", is_primary=False)  # same as survivor's
    return survivor, other


def test_merge_moves_everything_and_undo_restores_it_exactly(two_records):
    survivor, other = two_records
    before = _state()
    event = customer_merge(survivor=survivor, other=other, actor=SYSTEM)
    survivor.refresh_from_db()
    other.refresh_from_db()
    assert other.merged_into_id == survivor.pk
    assert survivor.purchases.count() == 4
    assert survivor.social_identities.count() == 2
    assert survivor.external_ids.count() == 2
    assert survivor.locale == "fr-FR" and str(survivor.date_of_birth) == "1980-02-03"
    assert survivor.first_name == "Jeanne"  # filled only where empty
    # The duplicate e-mail stays on the tombstone: kept, not deleted.
    assert ContactPoint.objects.filter(customer=other).count() == 1
    assert ContactPoint.objects.count() == sum(len(x) for x in [before["ContactPoint"]])
    assert survivor.contact_points.filter(kind="email", is_primary=True).count() == 1

    result = merge_undo(event=event, actor=SYSTEM)
    after = _state()
    for table in before:
        for row in before[table] + after[table]:
            row.pop("updated_at", None)
    assert after == before
    assert result.new_rows_kept == []
    assert MergeEvent.objects.get().is_undone


def test_rows_added_after_the_merge_stay_with_the_survivor_and_are_listed(two_records):
    survivor, other = two_records
    event = customer_merge(survivor=survivor, other=other, actor=SYSTEM)
    late = PurchaseFactory(customer=survivor)
    result = merge_undo(event=event, actor=SYSTEM)
    assert {"model": "customers.purchase", "id": late.pk} in result.new_rows_kept
    assert Purchase.objects.get(pk=late.pk).customer_id == survivor.pk
    assert Purchase.objects.filter(customer=other).count() == 2


def test_refused_merges_change_nothing(two_records):
    survivor, other = two_records
    before = _state()
    with pytest.raises(ValidationFailed):
        customer_merge(survivor=survivor, other=survivor, actor=SYSTEM)
    customer_merge(survivor=survivor, other=other, actor=SYSTEM)
    third = CustomerFactory()
    middle = _state()
    with pytest.raises(MergeRefused):
        customer_merge(survivor=other, other=third, actor=SYSTEM)  # into a tombstone
    with pytest.raises(MergeRefused):
        customer_merge(survivor=third, other=other, actor=SYSTEM)  # a tombstone again
    assert _state() == middle
    assert before["Customer"] != middle["Customer"]


def test_undo_twice_or_out_of_order_is_refused(two_records):
    survivor, other = two_records
    first = customer_merge(survivor=survivor, other=other, actor=SYSTEM)
    third = CustomerFactory()
    second = customer_merge(survivor=third, other=survivor, actor=SYSTEM)
    with pytest.raises(MergeRefused, match="undo merge"):
        merge_undo(event=first, actor=SYSTEM)
    merge_undo(event=second, actor=SYSTEM)
    merge_undo(event=first, actor=SYSTEM)
    with pytest.raises(MergeRefused, match="already undone"):
        merge_undo(event=first, actor=SYSTEM)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_merges_of_the_same_record_one_wins():
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def merge_into(survivor: Customer) -> None:
        try:
            barrier.wait()
            customer_merge(survivor=survivor, other=c, actor=SYSTEM)
            outcomes.append("merged")
        except MergeRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=merge_into, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["merged", "refused"]
    assert MergeEvent.objects.count() == 1


def test_merge_and_undo_through_the_api(partner, two_records):
    survivor, other = two_records
    client = partner("customers:write", "customers:read")
    response = client.post(f"/api/v1/customers/{survivor.pk}/merge/", {"other": other.pk}, format="json")
    assert response.status_code == 200, response.content
    merge_id = response.json()["merge_id"]
    assert response.json()["survivor"] == survivor.pk
    assert client.get(f"/api/v1/customers/{other.pk}/").status_code == 301
    again = client.post(f"/api/v1/customers/{survivor.pk}/merge/", {"other": other.pk}, format="json")
    assert again.status_code == 409
    missing = client.post(f"/api/v1/customers/{survivor.pk}/merge/", {"other": 999999}, format="json")
    assert missing.status_code == 400 and "other" in missing.json()["errors"]
    undo = client.post(f"/api/v1/merges/{merge_id}/undo/")
    assert undo.status_code == 200
    assert undo.json()["restored"] == other.pk
    assert client.get(f"/api/v1/customers/{other.pk}/").status_code == 200
    assert client.post(f"/api/v1/merges/{merge_id}/undo/").status_code == 409
    reader = partner("customers:read")
    assert reader.post(f"/api/v1/customers/{survivor.pk}/merge/", {"other": other.pk}).status_code == 403


def test_merge_and_undo_from_the_customer_page(client, marketer, agent, two_records):
    survivor, other = two_records
    client.force_login(agent)
    assert client.post(f"/customers/{survivor.pk}/merge/", {"other": other.pk}).status_code == 403
    client.force_login(marketer)
    response = client.post(f"/customers/{survivor.pk}/merge/", {"other": other.pk}, follow=True)
    assert response.status_code == 200
    event = MergeEvent.objects.get()
    assert f'data-testid="undo-merge-{event.pk}"' in response.content.decode()
    tomb = client.post(f"/customers/{survivor.pk}/merge/", {"other": other.pk}, follow=True)
    assert "already merged" in tomb.content.decode()
    undone = client.post(f"/customers/merges/{event.pk}/undo/", follow=True)
    assert undone.status_code == 200
    other.refresh_from_db()
    assert other.merged_into_id is None
