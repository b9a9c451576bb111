"""Survey invitations and answers: the services and the public page."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from influence.models import SurveyInvitation, SurveyResponse
from influence.services import survey_answer, survey_invite
from scrm.actors import Actor
from scrm.errors import Conflict, ValidationFailed
from social.models import Case
from tests.factories import CustomerFactory, SocialIdentityFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


@pytest.fixture
def case() -> Case:
    author = SocialIdentityFactory()
    now = timezone.now()
    return Case.objects.create(network="x", conversation="42", author=author, opened_at=now, last_post_at=now)


def test_invitation_for_a_case_goes_to_its_customer(case: Case) -> None:
    invitation, path = survey_invite(case=case, kind="csat", actor=SYSTEM)
    assert invitation.customer == case.author.customer and invitation.case == case
    assert path == f"/s/{invitation.token}/"
    assert len(invitation.token) >= 30 and invitation.expires_at > invitation.created_at


def test_an_answer_is_kept_once(case: Case) -> None:
    invitation, _path = survey_invite(case=case, kind="nps", actor=SYSTEM)
    response = survey_answer(token=invitation.token, score=9, comment=" Quick and kind ")
    assert (response.kind, response.score, response.comment, response.source) == (
        "nps",
        9,
        "Quick and kind",
        "page",
    )
    assert response.customer == case.author.customer and response.case == case
    with pytest.raises(Conflict, match="already been answered"):
        survey_answer(token=invitation.token, score=3, comment="")
    assert SurveyResponse.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "score"), [("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6), ("csat", "5")]
)
def test_out_of_range_scores_are_refused(kind: str, score: object) -> None:
    invitation, _path = survey_invite(customer=CustomerFactory(), kind=kind, actor=SYSTEM)
    with pytest.raises(ValidationFailed) as error:
        survey_answer(token=invitation.token, score=score, comment="")
    assert "score" in error.value.field_errors
    invitation.refresh_from_db()
    assert invitation.answered_at is None


def test_forged_and_expired_tokens_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="not valid"):
        survey_answer(token="forged-token", score=5, comment="")
    invitation, _path = survey_invite(kind="csat", actor=SYSTEM)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationFailed, match="expired"):
        survey_answer(token=invitation.token, score=5, comment="")


def test_the_database_refuses_a_score_out_of_range() -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyResponse.objects.create(kind="csat", score=7)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_answers_keep_one() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections")
    invitation, _path = survey_invite(kind="nps", actor=SYSTEM)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def answer(score: int) -> None:
        barrier.wait()
        try:
            survey_answer(token=invitation.token, score=score, comment="")
            outcomes.append("kept")
        except Conflict:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(score,)) for score in (9, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["kept", "refused"]
    assert SurveyResponse.objects.filter(invitation=invitation).count() == 1


# --- the public page -------------------------------------------------------------------


def test_page_answers_then_thanks(client: Client) -> None:
    invitation, path = survey_invite(kind="csat", actor=SYSTEM)
    page = client.get(path)
    assert page.status_code == 200
    assert b"How satisfied are you" in page.content and b'value="5"' in page.content
    assert b'value="6"' not in page.content
    answered = client.post(path, {"score": "4", "comment": "Fine"})
    assert answered.status_code == 302 and answered["Location"] == f"/s/{invitation.token}/thanks/"
    assert b"Thank you" in client.get(answered["Location"]).content
    assert SurveyResponse.objects.get(invitation=invitation).score == 4


def test_page_refuses_a_reused_token(client: Client) -> None:
    _invitation, path = survey_invite(kind="nps", actor=SYSTEM)
    client.post(path, {"score": "10"})
    again = client.post(path, {"score": "0"})
    assert again.status_code == 409
    assert b"already been answered" in again.content
    assert client.get(path).status_code == 409
    assert SurveyResponse.objects.get().score == 10


def test_page_refuses_a_forged_or_expired_token(client: Client) -> None:
    forged = client.get("/s/not-a-real-token/")
    assert forged.status_code == 400 and b"This survey link is not valid" in forged.content
    invitation, path = survey_invite(kind="nps", actor=SYSTEM)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    expired = client.post(path, {"score": "9"})
    assert expired.status_code == 400 and b"expired" in expired.content
    assert not SurveyResponse.objects.exists()


def test_page_refuses_an_out_of_range_or_missing_score(client: Client) -> None:
    _invitation, path = survey_invite(kind="nps", actor=SYSTEM)
    out = client.post(path, {"score": "11", "comment": "kept in the box"})
    assert out.status_code == 400
    assert b"Choose a score from 0 to 10." in out.content and b"kept in the box" in out.content
    missing = client.post(path, {"comment": ""})
    assert missing.status_code == 400 and b"Choose a score." in missing.content
    assert not SurveyResponse.objects.exists()


def test_page_is_csrf_protected() -> None:
    _invitation, path = survey_invite(kind="nps", actor=SYSTEM)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(path, {"score": "9"}).status_code == 403
    assert not SurveyResponse.objects.exists()


def test_agents_create_a_link_for_a_case(client: Client, agent: User, marketer: User, case: Case) -> None:
    client.force_login(marketer)
    assert client.post(f"/surveys/invite/{case.pk}/").status_code == 403
    client.force_login(agent)
    created = client.post(f"/surveys/invite/{case.pk}/", {"kind": "nps"})
    assert created.status_code == 201
    invitation = SurveyInvitation.objects.get()
    assert (invitation.kind, invitation.case, invitation.created_by) == ("nps", case, agent)
    assert f"http://testserver/s/{invitation.token}/".encode() in created.content
    partial = client.post(f"/surveys/invite/{case.pk}/", headers={"HX-Request": "true"})
    assert partial.status_code == 201 and b"<html" not in partial.content
    assert client.get(f"/surveys/invite/{case.pk}/").status_code == 405


def test_a_merge_moves_answers_and_invitations_and_undo_puts_them_back() -> None:
    from customers.merge import customer_merge, merge_undo

    survivor, other = CustomerFactory(), CustomerFactory()
    invitation, _path = survey_invite(customer=other, kind="nps", actor=SYSTEM)
    answer = survey_answer(token=invitation.token, score=10, comment="")
    event = customer_merge(survivor=survivor, other=other, actor=SYSTEM)
    answer.refresh_from_db()
    invitation.refresh_from_db()
    assert answer.customer == survivor and invitation.customer == survivor
    merge_undo(event=event, actor=SYSTEM)
    answer.refresh_from_db()
    assert answer.customer == other
    # an answer recorded for a merged record goes to its survivor
    customer_merge(survivor=survivor, other=other, actor=SYSTEM)
    other.refresh_from_db()
    later, _path = survey_invite(customer=other, kind="csat", actor=SYSTEM)
    assert later.customer == survivor


def test_the_customer_360_shows_the_answers(client: Client, marketer: User, partner) -> None:
    customer = CustomerFactory()
    invitation, _path = survey_invite(customer=customer, kind="nps", actor=SYSTEM)
    survey_answer(token=invitation.token, score=6, comment="Slow delivery")
    client.force_login(marketer)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="customer-surveys"' in page and "Slow delivery" in page
    body = partner("customers:read").get(f"/api/v1/customers/{customer.pk}/").json()
    assert body["scores"]["nps_category"] == "detractor"
