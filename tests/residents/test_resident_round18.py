"""Side doors, round 18, on the resident's page: a provider with no English name, reads left
out of the history, and "this was not me" on a record the city already works a case about."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.cases import services as cases
from madoguchi.cases.models import Case
from madoguchi.identity.access import record_reads_at_the_shell
from madoguchi.incidents.models import Incident
from madoguchi.residents.models import NotMeReport
from madoguchi.residents.selectors import access_history
from tests import factories
from tests.benefits import builders
from tests.residents.test_resident_page import (  # noqa: F401
    _origins,
    desk_completion,
    open_case,
    sign_in,
)
from tests.residents.test_resident_page import desk as desk

pytestmark = pytest.mark.django_db


def _link(holder):
    return builders.link(
        holder,
        programme=builders.programme(),
        provider=builders.provider(),
        account="7010000000000009",
    )


def test_a_provider_with_no_english_name_is_named_in_japanese_not_by_its_code(trusted, desk):
    """The English page, the not-me page and the incident named such a provider by its code
    (`sim-pay ＊＊＊＊0009`), which a resident does not know."""
    a = trusted.card("A")
    holder = desk_completion(desk, a).visit.holder
    link = _link(holder)
    link.provider.display_name_en = ""
    link.provider.save()
    client = Client()
    sign_in(client, a)
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    asked = client.get(f"/me/not-me/link/{link.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert client.post(f"/me/not-me/link/{link.pk}/", {"reason": "other"}).status_code == 302
    incident = Incident.objects.get(reason_code="resident_not_me")
    for text in (page, asked, str(incident.detail)):
        assert f"{link.provider.code} " not in text
    assert link.provider.display_name_ja in asked


def test_every_read_stays_in_the_history_or_the_page_says_how_many_are_left_out(
    trusted, desk, monkeypatch
):
    """The history read the newest 1,000 reads: an official's read behind 1,000 of an
    export's vanished, the row said 1,000 times for 1,001, and the page said nothing."""
    a = trusted.card("A")
    visit = desk_completion(desk, a).visit
    before = sum(r["count"] for r in access_history(visit.holder))
    # An older read for another reason (its own row), then 1,000 of one export's.
    record_reads_at_the_shell(
        [visit.holder_id], page="scans.export", reason="resident_inquiry", os_user="ops"
    )
    for _ in range(1000):
        record_reads_at_the_shell(
            [visit.holder_id], page="scans.export", reason="audit", os_user="ops"
        )
    rows = access_history(visit.holder)
    assert rows[0]["count"] == 1000
    assert rows[1]["count"] == 1
    assert "問い合わせ" in str(rows[1]["reason"])
    assert sum(r["count"] for r in rows) == before + 1001
    assert rows.left_out == 0
    # Fewer rows than the reads make: the page says how many older reads it leaves out.
    monkeypatch.setattr("madoguchi.residents.selectors.HISTORY_ROWS", 1)
    rows = access_history(visit.holder)
    assert len(rows) == 1
    assert rows.left_out >= 1
    client = Client()
    sign_in(client, a)
    page = client.get("/me/records/").content.decode()
    assert f"これより前の{rows.left_out}件" in page


@pytest.mark.parametrize("with_incident", [False, True])
def test_not_me_on_a_record_the_city_works_a_case_about_joins_that_case(
    trusted, desk, with_incident
):
    """A resident's "this was not me" on a link the city already had an open case about
    (opened from a call) opened a second case and a second incident."""
    a = trusted.card("A")
    holder = desk_completion(desk, a).visit.holder
    link = _link(holder)
    official = factories.staff(Role.CITY_OFFICIAL)
    incident = None
    if with_incident:
        from madoguchi.incidents.constants import IncidentKind, Severity
        from madoguchi.incidents.services import incident_record

        incident = incident_record(
            kind=IncidentKind.COMPLAINT,
            reason_code="resident_complaint",
            severity=Severity.MEDIUM,
            summary="電話での申し出",
            recorded_by=official,
        )
    case = open_case(
        official, payment_link=link, summary="コールセンターへの電話", incident=incident
    )
    cases.case_investigate(case, actor=official, summary="調査", event_date=timezone.localdate())
    incidents_before = Incident.objects.count()
    client = Client()
    sign_in(client, a)
    response = client.post(f"/me/not-me/link/{link.pk}/", {"reason": "not_my_account"})
    assert response.status_code == 302
    assert Case.objects.count() == 1
    report = NotMeReport.objects.get()
    assert report.case == case
    # The complaint is recorded for the contractor's report when the case has no incident of
    # its own; else the report joins the case's.
    assert Incident.objects.count() == incidents_before + (0 if with_incident else 1)
    if with_incident:
        assert report.incident == incident
    entry = case.latest_entry()
    assert "このケースの記録について「自分ではない」と申し出" in entry.summary
    # A second press is the same report.
    client.post(f"/me/not-me/link/{link.pk}/", {"reason": "not_my_account"})
    assert NotMeReport.objects.count() == 1
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("idle", "said"), [(120, "2分間操作がなかった"), (600, "10分間操作がなかった")]
)
def test_a_page_opened_after_the_idle_limit_says_why_it_closed(trusted, desk, settings, idle, said):
    """A page opened after the session lapsed went to the start page's generic 「ページを閉じ
    ました」, though the session ended for the idle limit; and that limit's sentence said 2
    minutes whatever RESIDENT_IDLE_SECONDS was."""
    from datetime import timedelta

    from madoguchi.residents.models import ResidentSession

    settings.RESIDENT_IDLE_SECONDS = idle
    a = trusted.card("A")
    desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    ResidentSession.objects.filter(ended_at__isnull=True).update(
        last_activity_at=timezone.now() - timedelta(seconds=idle + 1)
    )
    response = client.get("/me/records/")
    assert response["Location"].endswith("/me/?ended=idle")
    assert said in client.get(response["Location"]).content.decode()
