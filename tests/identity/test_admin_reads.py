"""Residents' records opened in the Django admin are reads the resident sees under "who
looked at my records" (`identity.admin_reads`), each with the reason the operator chose first:
the operator's lists and record pages of links, accounts, registrations, grants, the ledger,
cases, legacy links and incidents left no trace and asked nothing, where the officials' pages
showing the same records ask why and record each read."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.residents.selectors import access_history
from tests import factories
from tests.benefits import builders
from tests.residents.test_resident_page import open_case

pytestmark = pytest.mark.django_db
LINKS = "/admin/benefits/paymentlink/"


@pytest.fixture
def operator(settings) -> Client:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = factories.staff(Role.OPERATOR)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    client = Client()
    factories.sign_in_with_code(client, user, factories.totp_device(user))
    client.user = user
    return client


def opened(client, url, reason="audit"):
    """`url` opened as an operator does: the reason page first, the reason chosen, then the
    page itself (the reason kept for the address, which loses its `reason` parameter)."""
    asked = client.get(url)
    assert asked.status_code == 200
    assert 'data-testid="reason-form"' in asked.content.decode()
    sep = "&" if "?" in url else "?"
    chosen = client.get(f"{url}{sep}reason={reason}")
    assert chosen.status_code == 302
    assert chosen["Location"] == url
    page = client.get(url)
    assert page.status_code == 200
    return page


def reads(holder=None):
    found = AuditEvent.objects.filter(event_name="identity.record_read")
    if holder is not None:
        found = found.filter(subject_type="identity.holder", subject_id=str(holder.pk))
    return found


def two_links():
    programme, provider = builders.programme(), builders.provider()
    a, b = builders.holder(), builders.holder()
    link_a = builders.link(a, programme=programme, provider=provider, account="7010000000000001")
    builders.link(b, programme=programme, provider=provider, account="7010000000000002")
    return a, b, link_a


def complaint(visit):
    """A resident's complaint about `visit`, recorded as the resident's page records one."""
    return incident_record(
        kind=IncidentKind.COMPLAINT,
        reason_code="resident_not_me",
        severity=Severity.HIGH,
        summary="本人からの申し出",
        visit=visit,
    )


def test_the_admins_list_of_links_is_a_read_of_each_resident_on_it(operator):
    a, b, _link = two_links()
    asked = operator.get(LINKS)
    assert 'data-testid="reason-form"' in asked.content.decode()
    assert "7010" not in asked.content.decode()  # no record shown before a reason
    assert not reads().exists()  # nothing shown before a reason, nothing recorded
    opened(operator, LINKS)
    for holder in (a, b):
        (read,) = reads(holder)
        assert read.payload["page"] == "admin.benefits.paymentlink"
        assert read.payload["reason"] == "audit"
        assert read.actor_id == str(operator.user.pk)
        assert "operator" in read.payload["role"]


def test_one_link_opened_in_the_admin_is_a_read_the_resident_sees_on_their_page(operator):
    a, b, link = two_links()
    opened(operator, f"{LINKS}{link.pk}/change/", reason="resident_inquiry")
    (read,) = reads(a)
    assert read.payload["object"] == f"benefits.paymentlink:{link.pk}"
    assert not reads(b).exists()
    from django.utils import translation

    with translation.override("ja"):
        (row,) = access_history(a)
        assert str(row["page"]) == "管理画面：決済サービスとの紐付け"
        assert str(row["reason"]) == "本人からの問い合わせへの対応"
    with translation.override("en"):
        (row,) = access_history(a)
        assert str(row["page"]) == "Admin: payment service links"


def test_an_empty_list_or_another_page_records_nothing(operator):
    opened(operator, LINKS)
    assert operator.get("/admin/benefits/provider/").status_code == 200  # asks nothing
    assert not reads().exists()


def test_a_lists_filters_and_pages_keep_the_reason_given(operator):
    a, _b, _link = two_links()
    opened(operator, LINKS)
    r = operator.get(LINKS + "?status__exact=effective")
    assert r.status_code == 200
    assert 'data-testid="reason-form"' not in r.content.decode()
    assert reads(a).count() == 2


def test_cases_and_incidents_opened_in_the_admin_are_reads_of_their_resident(operator):
    """The case page of the officials asks a reason and records the read; the admin's page of
    the same case (its summary, its whole timeline) did neither."""
    holder = builders.holder()
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, holder=holder)
    opened(operator, f"/admin/cases/case/{case.pk}/change/", reason="case_work")
    opened(operator, "/admin/cases/case/", reason="case_work")
    assert [r.payload["page"] for r in reads(holder).order_by("seq")] == [
        "admin.cases.case",
        "admin.cases.case",
    ]
    _a, _b, link = two_links()
    incident = complaint(link.visit)
    opened(operator, f"/admin/incidents/incident/{incident.pk}/change/", reason="incident")
    (read,) = reads(link.holder)
    assert read.payload["page"] == "admin.incidents.incident"
    assert read.payload["object"] == f"incidents.incident:{incident.pk}"


def test_a_submitted_daily_reports_page_in_the_admin_is_a_read_of_its_residents(operator):
    """A submitted report's admin page shows its content as submitted, the day's incidents of
    residents' visits among it; the officials' page of the same report asks why and records
    the reads. Its list (day, desk, who submitted) shows no resident and asks nothing."""
    from madoguchi.reports.models import DailyReport

    a, b, link = two_links()
    incident = complaint(link.visit)
    terminal = link.visit.terminal
    report = DailyReport.objects.create(
        contractor=terminal.contractor,
        terminal=terminal,
        day=timezone.localdate(),
        snapshot={"incidents": [{"id": incident.pk, "visit": str(link.visit.public_id)}]},
        sha256="0" * 64,
        submitted_by=factories.staff(Role.SUPERVISOR),
    )
    assert operator.get("/admin/reports/dailyreport/").status_code == 200
    assert not reads().exists()
    opened(operator, f"/admin/reports/dailyreport/{report.pk}/change/", reason="daily_check")
    (read,) = reads(a)
    assert read.payload["page"] == "admin.reports.dailyreport"
    assert read.payload["reason"] == "daily_check"
    assert not reads(b).exists()


def test_the_admins_list_of_links_names_its_filter_and_columns_in_japanese(operator):
    """The name check's filter listed the stored codes (全て / match) and the account's column
    was headed MASKED ACCOUNT on the Japanese page."""
    two_links()
    page = opened(operator, LINKS).content.decode()
    filters = page[page.index('id="changelist-filter"') :]
    assert ">match<" not in filters
    assert "一致" in filters
    assert "MASKED ACCOUNT" not in page.upper()
    assert "口座（下4桁）" in page
