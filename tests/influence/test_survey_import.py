"""Survey answers from a CSV file: the import_surveys command and the upload page share one
service; all or nothing, errors by line, and the same file twice adds nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from customers.merge import customer_merge
from influence.models import SurveyResponse
from influence.surveys_import import SurveyImportRejected, surveys_import_csv
from scrm.actors import Actor
from scrm.models import AuditEntry
from tests.factories import CustomerFactory, EmailFactory, ExternalIdFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def import_text(text: str):
    return surveys_import_csv(stream=io.StringIO(text), actor=SYSTEM, source_name="answers.csv")


@pytest.fixture
def people():
    by_id = CustomerFactory()
    by_email = EmailFactory(value="lea@example.org").customer
    by_external = ExternalIdFactory(source="shop", value="C-77").customer
    return by_id, by_email, by_external


def good_file(people) -> str:
    by_id, _, _ = people
    return (
        "Kind,Score,Answered_At,Customer,Email,External_Id,Comment,Channel,Campaign\n"
        f"nps,10,2026-09-01T10:00:00Z,{by_id.pk},,,Great,email,autumn\n"
        'NPS,3,2026-09-02,,LEA@example.org,,"Slow, very slow",sms,\n'
        "csat,4,2026-09-03T08:30:00+02:00,,,shop:C-77,,,\n"
        "nps,8,2026-09-04T10:00:00Z,,,,anonymous,web,\n"
    )


def test_a_file_is_imported_then_adds_nothing_the_second_time(people) -> None:
    by_id, by_email, by_external = people
    summary = import_text(good_file(people))

    assert (summary.rows, summary.created, summary.already_imported) == (4, 4, 0)
    assert summary.by_kind == {"nps": 3, "csat": 1}
    answers = {a.score: a for a in SurveyResponse.objects.all()}
    assert (
        answers[10].customer == by_id and answers[10].campaign == "autumn" and answers[10].channel == "email"
    )
    assert answers[3].customer == by_email and answers[3].comment == "Slow, very slow"
    assert answers[3].answered_at == timezone.make_aware(datetime(2026, 9, 2))  # a date: midnight, site zone
    assert answers[4].customer == by_external and answers[4].kind == "csat"
    assert answers[4].answered_at == datetime(2026, 9, 3, 6, 30, tzinfo=UTC)
    assert answers[8].customer is None
    assert {a.source for a in answers.values()} == {"file"}
    assert AuditEntry.objects.filter(summary__contains="imported from answers.csv, line 2").count() == 1

    again = import_text(good_file(people))
    assert (again.rows, again.created, again.already_imported) == (4, 0, 4)
    assert SurveyResponse.objects.count() == 4


def test_the_same_file_after_a_merge_adds_nothing(people) -> None:
    by_id, _, _ = people
    import_text(good_file(people))
    customer_merge(survivor=CustomerFactory(), other=by_id, actor=SYSTEM)
    assert import_text(good_file(people)).created == 0


def test_a_tombstones_id_gives_the_answer_to_its_survivor() -> None:
    survivor, old = CustomerFactory(), CustomerFactory()
    customer_merge(survivor=survivor, other=old, actor=SYSTEM)
    import_text(f"kind,score,answered_at,customer\nnps,9,2026-09-01,{old.pk}\n")
    assert SurveyResponse.objects.get().customer == survivor


def test_one_bad_line_rejects_the_file_with_every_error_by_line(people) -> None:
    by_id, _, _ = people
    twin = EmailFactory(value="twin@example.org")
    EmailFactory(value="twin@example.org", customer=CustomerFactory())
    text = (
        "kind,score,answered_at,customer,email,external_id\n"
        f"nps,9,2026-09-01,{by_id.pk},,\n"  # line 2: fine
        "nps,11,2026-09-01,,,\n"  # 3: out of range
        "ces,3,2026-09-01,,,\n"  # 4: unknown kind
        "csat,0,2026-09-01,,,\n"  # 5: out of the CSAT range
        "nps,5,01/09/2026,,,\n"  # 6: not ISO
        "nps,5,2026-09-01,999999,,\n"  # 7: no such customer
        "nps,5,2026-09-01,,nobody@example.org,\n"  # 8: unknown e-mail
        "nps,5,2026-09-01,,twin@example.org,\n"  # 9: e-mail of two customers
        "nps,5,2026-09-01,,,shop-C-77\n"  # 10: external id without source
        f"nps,5,2026-09-01,{by_id.pk},lea@example.org,\n"  # 11: two different customers
        "nps,5,2026-09-01,,,,extra\n"  # 12: more values than columns
    )
    with pytest.raises(SurveyImportRejected) as rejected:
        import_text(text)

    lines = dict(rejected.value.errors)
    assert sorted(lines) == list(range(3, 13))
    assert "from 0 to 10" in lines[3] and "nps or csat" in lines[4] and "from 1 to 5" in lines[5]
    assert "ISO" in lines[6] and "999999" in lines[7] and "nobody@example.org" in lines[8]
    assert str(twin.customer_id) in lines[9] and "source:id" in lines[10]
    assert "different customers" in lines[11] and "more values" in lines[12]
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no header row"), ("kind,score,customer\nnps,9,1\n", "missing column(s): answered_at")],
)
def test_files_without_the_columns_are_refused(text: str, message: str) -> None:
    with pytest.raises(SurveyImportRejected) as rejected:
        import_text(text)
    assert rejected.value.errors[0][0] == 1 and message in rejected.value.errors[0][1]


def test_the_command_reports_and_fails_on_one_line(tmp_path: Path, people, capsys) -> None:
    good = tmp_path / "answers.csv"
    good.write_text("\ufeff" + good_file(people), encoding="utf-8")
    call_command("import_surveys", str(good))
    assert "4 rows: 4 answers imported (1 CSAT, 3 NPS), 0 already there." in capsys.readouterr().out
    call_command("import_surveys", str(good))
    assert "0 answers imported (none), 4 already there." in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text("kind,score,answered_at\nnps,12,2026-09-01\nnps,1,never\n", encoding="utf-8")
    with pytest.raises(CommandError) as failed:
        call_command("import_surveys", str(bad))
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("bad.csv: 2 line(s) rejected, nothing imported: line 2: score")
    assert "line 3: answered_at" in message
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_surveys", str(tmp_path / "missing.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("kind,score,answered_at,comment\nnps,9,2026-09-01,très\n".encode("latin-1"))
    with pytest.raises(CommandError, match="UTF-8"):
        call_command("import_surveys", str(latin))
    assert SurveyResponse.objects.count() == 4


def upload(name: str, text: str | bytes) -> SimpleUploadedFile:
    content = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_the_upload_page(client: Client, marketer, agent, people) -> None:
    client.force_login(agent)
    assert client.get("/insights/surveys/import/").status_code == 403
    client.force_login(marketer)
    assert client.get("/insights/surveys/import/").status_code == 200

    done = client.post("/insights/surveys/import/", {"file": upload("answers.csv", good_file(people))})
    assert done.status_code == 200
    assert "4 rows read: 4 answers imported, 0 already there." in done.content.decode()

    refused = client.post(
        "/insights/surveys/import/",
        {"file": upload("bad.csv", "kind,score,answered_at\nnps,12,2026-09-01\n")},
    )
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "nothing was imported" in page and "Line 2:" in page
    not_utf8 = client.post(
        "/insights/surveys/import/",
        {
            "file": upload(
                "latin.csv", "kind,score,answered_at,comment\nnps,9,2026-09-01,très\n".encode("latin-1")
            )
        },
    )
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.content.decode()
    assert client.post("/insights/surveys/import/", {}).status_code == 400
    assert SurveyResponse.objects.count() == 4
