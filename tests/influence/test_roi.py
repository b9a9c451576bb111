"""Return on investment: costs (upsert, validation, audit), gains with their n and source,
ROI on a month built by hand with its answer worked out beforehand, the page and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from influence.models import ProgrammeCost, Referral, ScoreRun, ScoreSnapshot
from influence.roi import (
    LOYALTY,
    RECOVERY,
    REFERRALS,
    add_months,
    loyalty_incremental_margin,
    report_months,
    roi_report,
)
from influence.roi_services import CostEntry, programme_cost_clear, programme_cost_set, programme_costs_save
from scrm.actors import Actor
from scrm.errors import ValidationFailed
from scrm.models import AuditEntry
from tests.factories import CustomerFactory, SocialIdentityFactory
from tests.influence.test_service_metrics import case, post

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
MARCH = date(2025, 3, 1)


def at(day: int, month: int = 3, hour: int = 12) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


# --- costs ----------------------------------------------------------------------------------


def test_cost_upsert_normalises_the_month_and_audits_changes() -> None:
    first = programme_cost_set(month=date(2025, 3, 17), category="rewards", amount="120.5", actor=SYSTEM)
    assert (first.month, first.amount, first.note) == (MARCH, Decimal("120.50"), "")

    again = programme_cost_set(
        month=date(2025, 3, 2), category="rewards", amount=Decimal(200), note=" spring ", actor=SYSTEM
    )
    assert again.pk == first.pk and ProgrammeCost.objects.count() == 1
    assert (again.amount, again.note) == (Decimal("200.00"), "spring")

    programme_cost_set(month=MARCH, category="rewards", amount=200, note="spring", actor=SYSTEM)  # same
    entries = list(AuditEntry.objects.order_by("pk").values_list("action", "changes"))
    assert entries == [
        ("create", {"amount": "120.50", "note": ""}),
        ("update", {"amount": ["120.50", "200.00"], "note": ["", "spring"]}),
    ]

    assert programme_cost_clear(month=date(2025, 3, 31), category="rewards", actor=SYSTEM) is True
    assert programme_cost_clear(month=MARCH, category="rewards", actor=SYSTEM) is False
    assert not ProgrammeCost.objects.exists()
    assert AuditEntry.objects.filter(action="delete").count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": "-1"}, "amount", "An amount cannot be negative."),
        ({"amount": "12.345"}, "amount", "Use at most 2 decimals."),
        ({"amount": "ten"}, "amount", "Enter an amount, e.g. 1250.50."),
        ({"amount": "NaN"}, "amount", "Enter an amount, e.g. 1250.50."),
        ({"amount": "1e15"}, "amount", "This amount is too large."),
        ({"category": "coffee"}, "category", "Unknown category “coffee”."),
        ({"month": "2025-03"}, "month", "Enter a month."),
        ({"note": "x" * 201}, "note", "Keep the note under 200 characters."),
    ],
)
def test_cost_validation(fields: dict, field: str, message: str) -> None:
    values = {"month": MARCH, "category": "rewards", "amount": "10", "note": "", **fields}
    with pytest.raises(ValidationFailed) as raised:
        programme_cost_set(actor=SYSTEM, **values)
    assert raised.value.field_errors == {field: [message]}
    assert not ProgrammeCost.objects.exists()


def test_saving_several_cells_is_all_or_nothing() -> None:
    programme_cost_set(month=MARCH, category="campaigns", amount=50, actor=SYSTEM)
    entries = [
        CostEntry(month=MARCH, category="rewards", amount=Decimal(10), key="a"),
        CostEntry(month=MARCH, category="campaigns", amount=None, key="b"),  # would clear
        CostEntry(month=MARCH, category="other", amount=Decimal(-5), key="c"),
    ]
    with pytest.raises(ValidationFailed) as raised:
        programme_costs_save(entries=entries, actor=SYSTEM)
    assert raised.value.field_errors == {"c": ["An amount cannot be negative."]}
    assert list(ProgrammeCost.objects.values_list("category", "amount")) == [("campaigns", Decimal(50))]

    assert programme_costs_save(entries=entries[:2], actor=SYSTEM) == 2
    assert list(ProgrammeCost.objects.values_list("category", "amount")) == [("rewards", Decimal(10))]


def test_report_months() -> None:
    assert report_months(year=2025) == [date(2025, n, 1) for n in range(1, 13)]
    last12 = report_months(today=date(2026, 2, 14))
    assert (last12[0], last12[-1], len(last12)) == (date(2025, 3, 1), date(2026, 2, 1), 12)
    assert add_months(date(2025, 12, 1), 1) == date(2026, 1, 1)


# --- gains and ROI on a month built by hand ---------------------------------------------------


def referral(value: str | None, converted: datetime | None) -> Referral:
    return Referral.objects.create(
        referrer=CustomerFactory(),
        referred=CustomerFactory(),
        type=Referral.Type.TYPE1,
        referred_at=at(1, 2),
        converted_at=converted,
        reward_amount=Decimal(10),
        value=Decimal(value) if value is not None else None,
    )


def snapshot(customer, as_of: date, clv: str | None) -> ScoreSnapshot:
    run = ScoreRun.objects.create(as_of=as_of, status=ScoreRun.Status.DONE)
    return ScoreSnapshot.objects.create(
        run=run, customer=customer, as_of=as_of, clv=Decimal(clv) if clv is not None else None
    )


def recovered_case(identity, resolved: datetime, *, recovers: bool = True) -> None:
    """A negative case opened a day before `resolved`, then (if `recovers`) a positive post."""
    opened = resolved - timedelta(days=1)
    case(identity, opened, first=10, resolved=24 * 60, label="negative")
    if recovers:
        post(identity, resolved + timedelta(days=1), "positive")


@pytest.fixture
def march() -> None:
    # Referrals converted in March: 120.50 + 79.50 valued, one not valued yet; April and
    # unconverted ones do not count.
    referral("120.50", at(10))
    referral("79.50", at(20))
    referral(None, at(25))
    referral("1000", at(2, 4))
    referral(None, None)

    # Recovered in March: Claire (latest CLV 450, an older snapshot said 300) twice, Dan
    # (no snapshot yet), an unlinked author. Not counted: Eve (not recovered), Fred (February).
    claire = SocialIdentityFactory()
    snapshot(claire.customer, date(2025, 1, 1), "300")
    snapshot(claire.customer, date(2025, 4, 1), "450")
    recovered_case(claire, at(6))
    recovered_case(claire, at(15))
    recovered_case(SocialIdentityFactory(), at(9))
    recovered_case(SocialIdentityFactory(customer=None), at(12))
    eve = SocialIdentityFactory()
    snapshot(eve.customer, date(2025, 4, 1), "999")
    recovered_case(eve, at(7), recovers=False)
    fred = SocialIdentityFactory()
    snapshot(fred.customer, date(2025, 4, 1), "777")
    recovered_case(fred, at(20, 2))

    programme_cost_set(month=MARCH, category="rewards", amount="100", actor=SYSTEM)
    programme_cost_set(month=MARCH, category="agent_hours", amount="300", actor=SYSTEM)
    programme_cost_set(month=date(2025, 4, 1), category="campaigns", amount="1000", actor=SYSTEM)


def test_roi_of_a_month_built_by_hand(march: None) -> None:
    report = roi_report(months=[date(2025, 2, 1), MARCH])
    feb, line = report.months

    referrals = line.gain_of(REFERRALS)
    assert (referrals.amount, referrals.n, referrals.not_valued) == (Decimal("200.00"), 2, 1)
    recovery = line.gain_of(RECOVERY)
    assert (recovery.amount, recovery.n, recovery.not_valued, recovery.unlinked) == (Decimal(450), 1, 1, 1)
    loyalty = line.gain_of(LOYALTY)
    assert loyalty.amount is None and loyalty.reason == "not available: no loyalty programme data"

    assert line.costs == {"rewards": Decimal(100), "agent_hours": Decimal(300)}
    assert (line.cost, line.gain, line.net) == (Decimal(400), Decimal(650), Decimal(250))
    assert line.roi == Decimal("0.625")  # (650 - 400) / 400

    # February: Fred's 777 kept, no cost entered -> no ROI
    assert feb.gain_of(RECOVERY).amount == Decimal(777) and feb.cost == 0 and feb.roi is None

    total = report.total
    assert total.gain == Decimal(1427) and total.cost == Decimal(400)
    assert total.roi == (Decimal(1427) - 400) / 400
    assert total.gain_of(RECOVERY).n == 2 and total.gain_of(REFERRALS).not_valued == 1
    assert total.gain_of(LOYALTY).amount is None


def test_loyalty_line_is_not_available_with_its_reason() -> None:
    gain = loyalty_incremental_margin(month=MARCH)
    assert not gain.available and gain.reason


def test_empty_period_has_no_roi() -> None:
    report = roi_report(months=report_months(year=2024))
    assert report.total.cost == 0 and report.total.gain == 0 and report.total.roi is None


# --- page ---------------------------------------------------------------------------------------


def test_page_for_marketing_403_for_agents(client: Client, agent, marketer) -> None:
    client.force_login(agent)
    assert client.get("/insights/roi/").status_code == 403
    assert client.post("/insights/roi/", {}).status_code == 403
    assert b'href="/insights/roi/"' not in client.get("/").content

    client.force_login(marketer)
    page = client.get("/insights/roi/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Return on investment" in html and 'href="/insights/roi/"' in html
    assert "not available: no loyalty programme data" in html
    assert 'name="cost-' in html  # the grid is editable


def test_grid_saves_changes_and_a_bad_value_stores_nothing(client: Client, marketer) -> None:
    this_month = timezone.localdate().replace(day=1)
    key = f"{this_month:%Y-%m}"
    client.force_login(marketer)

    bad = client.post(
        "/insights/roi/",
        {f"cost-{key}_rewards": "250", f"cost-{key}_campaigns": "-4", f"cost-{key}_other_note": "print"},
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "An amount cannot be negative." in html
    assert "Enter an amount for this note, or remove the note." in html
    assert "2 cells need attention; nothing was saved." in html
    assert 'value="250"' in html and 'value="print"' in html  # nothing typed is lost
    assert not ProgrammeCost.objects.exists()

    good = client.post(
        "/insights/roi/",
        {
            f"cost-{key}_rewards": "250",
            f"cost-{key}_campaigns": "1200.50",
            f"cost-{key}_campaigns_note": "ads",
        },
    )
    assert good.status_code == 302
    saved = dict(ProgrammeCost.objects.values_list("category", "amount"))
    assert saved == {"rewards": Decimal(250), "campaigns": Decimal("1200.50")}
    page = client.get("/insights/roi/").content.decode()
    assert 'value="ads"' in page

    # a cell sent empty removes its cost; cells unchanged or not sent write nothing
    audits = AuditEntry.objects.count()
    client.post("/insights/roi/", {f"cost-{key}_rewards": "250", f"cost-{key}_campaigns": ""})
    assert dict(ProgrammeCost.objects.values_list("category", "amount")) == {"rewards": Decimal(250)}
    assert AuditEntry.objects.count() == audits + 1
    client.post("/insights/roi/", {f"cost-{key}_other": "5"})
    assert dict(ProgrammeCost.objects.values_list("category", "amount")) == {
        "rewards": Decimal(250),
        "other": Decimal(5),
    }


def test_csv_export_of_the_monthly_table(client: Client, marketer, march: None) -> None:
    client.force_login(marketer)
    response = client.get("/insights/roi/", {"year": "2025", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode().lstrip("\ufeff")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    header, lines = rows[0], {row[0]: row for row in rows[1:]}
    assert len(rows) == 1 + 12 + 1
    march_row = dict(zip(header, lines["2025-03"], strict=True))
    assert march_row["costs"] == "400.00" and march_row["gains measured"] == "650.00"
    assert march_row["ROI %"] == "62.5"
    assert march_row["referrals not valued yet"] == "1"
    assert march_row["Loyalty members' incremental margin"] == "not available: no loyalty programme data"
    total = dict(zip(header, lines["total"], strict=True))
    assert total["costs"] == "1400.00" and total["gains measured"] == "2427.00"  # + April's referral


def test_amounts_are_read_in_the_users_language(client: Client, marketer) -> None:
    key = f"{timezone.localdate():%Y-%m}"
    client.force_login(marketer)
    response = client.post(
        "/insights/roi/", {f"cost-{key}_rewards": "1200,50"}, headers={"Accept-Language": "fr"}
    )
    assert response.status_code == 302
    assert ProgrammeCost.objects.get().amount == Decimal("1200.50")


def test_chart_data_follows_the_table(client: Client, marketer, march: None) -> None:
    client.force_login(marketer)
    page = client.get("/insights/roi/", {"year": "2025"})
    chart = page.context["chart"]
    assert chart["months"][2] == "March 2025" and len(chart["months"]) == 12
    assert (chart["costs"][2], chart["gains"][2], chart["roi"][2]) == (400.0, 650.0, 62.5)
    assert chart["roi"][1] is None  # February: no costs
    assert 'id="roi-data"' in page.content.decode() and "62.5 %" in page.content.decode()
