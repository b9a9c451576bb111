"""Identity resolution on stored customers: auto-merge, review queue, decisions, imports."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from customers.imports import customers_import_csv
from customers.inputs import AddressInput, ContactInput, CustomerData
from customers.matching import candidate_decide, next_candidate, resolve_customers
from customers.models import ContactPoint, Customer, MatchCandidate, MergeEvent, SocialIdentity
from customers.services import customer_upsert
from scrm.actors import Actor
from scrm.errors import Conflict, ValidationFailed
from tests.factories import CustomerFactory, EmailFactory, PhoneFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")

PEOPLE = [
    ("Jeanne", "Moreau", date(1980, 2, 3), "jeanne.moreau@example.fr", "+33612345678", "75011"),
    ("Paul", "Durand", date(1975, 7, 14), "paul.durand@example.fr", "+33698765432", "69003"),
    ("Sophie", "Bernard", date(1990, 11, 30), "sophie.b@example.fr", "+33611223344", "13001"),
    ("Marc", "Petit", date(1968, 5, 1), "marc.petit@example.fr", "+33655443322", "33000"),
    ("Claire", "Leroy", date(1985, 9, 9), "claire.leroy@example.fr", "+33677889900", "59000"),
    ("Hugo", "Roux", date(1999, 1, 21), "hugo.roux@example.fr", "+33633221100", "67000"),
]


def _person(first, last, dob, email, phone, postcode, verified=True, **extra) -> Customer:
    data = CustomerData(
        first_name=first, last_name=last, date_of_birth=dob,
        emails=[ContactInput(email, verified=verified)] if email else [],
        phones=[ContactInput(phone, verified=verified)] if phone else [],
        external_ids=extra.pop("external_ids", {}), **extra,
    )  # fmt: skip
    data.addresses = [AddressInput(street="1 rue de la Paix", postcode=postcode, city="Paris", country="FR")]
    return customer_upsert(data=data, actor=SYSTEM)[0]


def _loaded(first, last, dob, email, phone, postcode) -> Customer:
    """A record loaded as another system had it (no matching at load time, as with data
    that predates resolution)."""
    customer = CustomerFactory(first_name=first, last_name=last, date_of_birth=dob)
    if email:
        EmailFactory(customer=customer, value=email)
    if phone:
        PhoneFactory(customer=customer, value=phone)
    details = {"street": "1 rue de la Paix", "postcode": postcode, "city": "Paris", "country": "FR"}
    ContactPoint.objects.create(customer=customer, kind="postal", value=postcode, details=details)
    return customer


@pytest.fixture
def population():
    people = [_person(*p) for p in PEOPLE]
    # An exact twin from another shop: everything equal.
    twin = _loaded(*PEOPLE[0])
    # A near twin: typo in the surname, same birth date and postcode, another e-mail.
    near = _loaded("Paul", "Durant", PEOPLE[1][2], "pdurand@other.example", None, PEOPLE[1][5])
    return people, twin, near


def test_resolution_merges_sure_pairs_and_queues_doubtful_ones(population):
    people, twin, near = population
    summary = resolve_customers(actor=SYSTEM, auto_threshold=0.999, review_threshold=0.2)
    assert summary.records == 8
    twin.refresh_from_db()
    assert twin.merged_into_id == people[0].pk
    assert summary.merged >= 1
    queued = {(c.left_id, c.right_id) for c in MatchCandidate.objects.filter(status="pending")}
    merged_pairs = {(e.survivor_id, e.other_id) for e in MergeEvent.objects.all()}
    assert (people[1].pk, near.pk) in queued | merged_pairs
    candidate = MatchCandidate.objects.first()
    if candidate:
        terms = candidate.explanation["terms"]
        assert abs(sum(t["weight"] for t in terms) - candidate.explanation["total"]) < 0.01


def test_a_rejected_pair_is_never_proposed_again(population):
    people, _twin, near = population
    resolve_customers(actor=SYSTEM, auto_threshold=1.0, review_threshold=0.2)
    candidate = MatchCandidate.objects.get(left=people[1], right=near)
    candidate_decide(candidate=candidate, decision="reject", actor=SYSTEM)
    summary = resolve_customers(actor=SYSTEM, auto_threshold=0.0001, review_threshold=0.0)
    near.refresh_from_db()
    assert near.merged_into_id is None
    assert summary.already_decided >= 1
    assert MatchCandidate.objects.get(left=people[1], right=near).status == "rejected"


def test_deciding_merge_merges_and_a_second_decision_is_a_conflict(population):
    people, _twin, near = population
    resolve_customers(actor=SYSTEM, auto_threshold=1.0, review_threshold=0.2)
    candidate = MatchCandidate.objects.get(left=people[1], right=near)
    decided = candidate_decide(candidate=candidate, decision="merge", actor=SYSTEM)
    assert decided.merge is not None
    near.refresh_from_db()
    assert near.merged_into_id == people[1].pk
    with pytest.raises(Conflict):
        candidate_decide(candidate=candidate, decision="reject", actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        candidate_decide(candidate=candidate, decision="maybe", actor=SYSTEM)


def test_skipped_pairs_come_after_pending_ones(population):
    resolve_customers(actor=SYSTEM, auto_threshold=1.0, review_threshold=0.0)
    first = next_candidate()
    assert first is not None
    candidate_decide(candidate=first, decision="skip", actor=SYSTEM)
    following = next_candidate()
    if MatchCandidate.objects.filter(status="pending").exists():
        assert following is not None and following.pk != first.pk
    else:
        assert following == MatchCandidate.objects.get(pk=first.pk)


def test_thresholds_are_checked():
    with pytest.raises(ValidationFailed):
        resolve_customers(actor=SYSTEM, auto_threshold=0.5, review_threshold=0.9)


CSV = """external_id,first_name,last_name,email,phone,date_of_birth,postcode,city,handle,loyalty_card
shop:1,Jeanne,Moreau,jeanne@example.fr,06 12 34 56 78,1980-02-03,75011,Paris,x:jeannem,A123
shop:2,Paul,Durand,paul@example.fr,,1975-07-14,69003,Lyon,,
,Sophie,Bernard,,+33611223344,,13001,Marseille,,
shop:3,Bad,Date,bad@example.fr,,03/02/1980,,,,
shop:4,Bad,Phone,,12,,,,,
shop:5,Bad,Handle,,,,,,myspace:x,
"""


def test_importing_the_same_csv_twice_creates_nothing_new():
    first = customers_import_csv(stream=io.StringIO(CSV), actor=SYSTEM)
    assert (first.created, first.updated) == (3, 0)
    assert [line for line, _ in first.rejected] == [5, 6, 7]
    assert "date_of_birth" in first.rejected[0][1] and "phones" in first.rejected[1][1]
    jeanne = Customer.objects.get(first_name="Jeanne")
    assert jeanne.attributes == {"loyalty_card": "A123"}
    assert jeanne.social_identities.get().handle == "jeannem"
    count = Customer.objects.count()
    second = customers_import_csv(stream=io.StringIO(CSV), actor=SYSTEM)
    assert (second.created, second.updated) == (0, 3)
    assert Customer.objects.count() == count


def test_import_command_reports_lines_and_runs_resolution(tmp_path, capsys):
    path = tmp_path / "customers.csv"
    path.write_text(CSV, encoding="utf-8")
    call_command("import_customers", str(path))
    out, err = capsys.readouterr()
    assert "3 created" in out and "3 rejected" in out and "Resolution:" in out
    assert "line 5:" in err
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_customers", str(tmp_path / "missing.csv"))


def test_resolve_identities_command_prints_a_summary(population, capsys):
    call_command("resolve_identities", "--auto-merge-threshold", "0.999", "--review-threshold", "0.2")
    out, _ = capsys.readouterr()
    assert "pairs scored" in out and "merged" in out and "queued for review" in out
    with pytest.raises(CommandError):
        call_command("resolve_identities", "--auto-merge-threshold", "0.1", "--review-threshold", "0.9")


def test_review_queue_api_lists_and_decides(partner, population):
    resolve_customers(actor=SYSTEM, auto_threshold=1.0, review_threshold=0.2)
    client = partner("customers:read", "customers:write")
    body = client.get("/api/v1/match-candidates/").json()
    assert body["count"] >= 1
    first = body["results"][0]
    assert {"left", "right", "probability", "explanation", "status"} <= set(first)
    assert first["explanation"]["terms"][0]["field"] == "prior"
    bad = client.post(
        f"/api/v1/match-candidates/{first['id']}/decision/", {"decision": "maybe"}, format="json"
    )
    assert bad.status_code == 400 and "decision" in bad.json()["errors"]
    done = client.post(
        f"/api/v1/match-candidates/{first['id']}/decision/", {"decision": "reject"}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "rejected"
    again = client.post(
        f"/api/v1/match-candidates/{first['id']}/decision/", {"decision": "merge"}, format="json"
    )
    assert again.status_code == 409
    assert client.get("/api/v1/match-candidates/?status=rejected").json()["count"] == 1
    assert client.get("/api/v1/match-candidates/?status=nope").status_code == 400
    reader = partner("customers:read")
    assert (
        reader.post(f"/api/v1/match-candidates/{first['id']}/decision/", {"decision": "skip"}).status_code
        == 403
    )


def test_review_page_walks_the_queue(client, marketer, agent, population):
    resolve_customers(actor=SYSTEM, auto_threshold=1.0, review_threshold=0.2)
    client.force_login(agent)
    assert client.get("/customers/review/").status_code == 403
    client.force_login(marketer)
    page = client.get("/customers/review/")
    candidate = page.context["candidate"]
    assert candidate is not None and b'id="evidence"' in page.content
    response = client.post(f"/customers/review/{candidate.pk}/decide/", {"decision": "merge"}, follow=True)
    assert response.status_code == 200
    assert MatchCandidate.objects.get(pk=candidate.pk).status == "merged"
    assert MergeEvent.objects.filter(pk=MatchCandidate.objects.get(pk=candidate.pk).merge_id).exists()


def test_the_review_queue_shows_name_weights_adjusted_for_frequency(client, marketer, partner, population):
    people, _twin, near = population
    resolve_customers(actor=SYSTEM, auto_threshold=1.0, review_threshold=0.2)
    candidate = MatchCandidate.objects.get(left=people[1], right=near)  # Paul Durand / Paul Durant
    terms = {t["field"]: t for t in candidate.explanation["terms"]}
    given = terms["given_name"]
    assert given["level"] == "exact" and 0 < given["frequency"] < 1
    assert given["percent"] == pytest.approx(given["frequency"] * 100, abs=0.01)
    assert "frequency" not in terms["surname"]  # "durand" / "durant" is no exact agreement
    MatchCandidate.objects.exclude(pk=candidate.pk).delete()
    api = partner("customers:read").get("/api/v1/match-candidates/").json()
    api_terms = {t["field"]: t for t in api["results"][0]["explanation"]["terms"]}
    assert api_terms["given_name"]["adjustment"] == given["adjustment"]
    assert "adjustment" not in api_terms["surname"]
    client.force_login(marketer)
    page = client.get("/customers/review/")
    assert page.context["candidate"].pk == candidate.pk
    assert b"adjusted for frequency" in page.content


def test_nightly_task_is_scheduled_and_runs(population):
    from django.conf import settings

    from customers.tasks import resolve_identities_task

    entry = settings.CELERY_BEAT_SCHEDULE["resolve-identities-nightly"]
    assert entry["task"] == "customers.resolve_identities"
    result = resolve_identities_task.delay().get()
    assert result["pairs_scored"] >= 1


def test_customers_a_partner_brings_are_resolved_by_a_worker_soon_after(
    partner, population, django_capture_on_commit_callbacks
):
    """The API records a request; one debounced task resolves what arrived (eager here)."""
    from customers.models import ResolutionRequest

    people, _twin, _near = population
    client = partner("customers:write")
    body = {
        "first_name": "Claire", "last_name": "Leroy", "date_of_birth": "1985-09-09",
        "phones": [{"value": "+33677889900", "verified": False}],
        "external_ids": {"erp": "E-9"},
        "addresses": [{"street": "1 rue de la Paix", "postcode": "59000", "city": "Paris", "country": "FR"}],
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 201
    created = Customer.objects.get(pk=response.json()["id"])
    assert created.merged_into_id == people[4].pk or MatchCandidate.objects.filter(right=created).exists()
    assert ResolutionRequest.objects.count() == 0


def test_a_base_without_duplicates_merges_nothing_run_after_run():
    """Regression: with m learnt by EM, a resolved base merged namesakes on the next run."""
    from faker import Faker

    fake = Faker("fr_FR")
    fake.seed_instance(7)
    for n in range(300):
        customer = CustomerFactory(
            first_name=fake.first_name(), last_name=fake.last_name(), date_of_birth=fake.date_of_birth()
        )
        EmailFactory(customer=customer, value=f"c{n}@{fake.free_email_domain()}")
    first = resolve_customers(actor=SYSTEM)
    second = resolve_customers(actor=SYSTEM)
    assert (first.merged, second.merged) == (0, 0)


def test_records_read_as_values_equal_records_read_from_models(population):
    """_records() reads plain values for speed; it must build exactly what from_customer builds."""
    from customers.matching import _records
    from customers.resolution.records import PersonRecord

    customer = population[0][0]
    SocialIdentity.objects.create(network="x", handle="zz", handle_normalized="zz", customer=customer)
    SocialIdentity.objects.create(network="facebook", handle="aa", handle_normalized="aa", customer=customer)
    from_models = {
        str(c.pk): PersonRecord.from_customer(c)
        for c in Customer.objects.filter(merged_into__isnull=True).prefetch_related(
            "contact_points", "social_identities"
        )
    }
    from_values = {r.id: r for r in _records()}
    assert from_values == from_models
