"""A closed case is not changed: a legacy link (a link made before signed completion) is not
recorded on it, from the case page, the command or the service. Every other step was already
refused on a closed case (the transition table allows nothing after closed), but the legacy
link's form stayed on a case closed without a link and its POST was taken, so the closed case's
findings and its published report changed after the close (side doors, round 11)."""

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from madoguchi.audit.models import AuditEvent
from madoguchi.cases import legacy, services
from madoguchi.cases.models import LegacyLink
from tests.cases.conftest import B_CARD, open_case

D = {"event_date": date(2023, 7, 5), "date_precision": "day"}
FORM = {
    "legacy-resident_label": "A氏",
    "legacy-provider_name": "キャッシュレス決済サービス",
    "legacy-account_number": B_CARD,
    "legacy-linked_on": "2022-08-01",
    "legacy-linked_on_precision": "month",
}


def _closed(official):
    case = open_case(official)
    services.case_close(case, actor=official, summary="誤紐付けではなかった", **D)
    return case


def _nothing_attached(case):
    case.refresh_from_db()
    assert case.legacy_link is None
    assert not LegacyLink.objects.exists()
    assert not AuditEvent.objects.filter(event_name__startswith="cases.legacy").exists()


def test_the_case_page_neither_offers_nor_takes_a_legacy_link_on_a_closed_case(client, official):
    case = _closed(official)
    client.force_login(official)
    detail = reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    assert 'data-testid="legacy-link-form"' not in client.get(detail).content.decode()
    body = client.post(
        reverse("cases:legacy_link", args=[case.pk]), FORM, follow=True
    ).content.decode()
    assert "このケースは終了しているため" in body
    _nothing_attached(case)
    english = client.post(
        reverse("cases:legacy_link", args=[case.pk]) + "?lang=en", FORM, follow=True
    ).content.decode()
    assert "This case is closed, and a closed case is not changed" in english
    _nothing_attached(case)


def test_the_service_and_the_command_refuse_a_legacy_link_on_a_closed_case(official, monkeypatch):
    case = _closed(official)
    with pytest.raises(services.CaseRefused) as refused:
        legacy.attach(
            case,
            actor=official,
            resident_label="A氏",
            provider_name="x",
            account_number=B_CARD,
        )
    assert refused.value.code == "case_closed"
    _nothing_attached(case)
    monkeypatch.setattr("sys.stdin", io.StringIO(B_CARD + "\n"))
    with pytest.raises(CommandError, match="This case is closed"):
        call_command(
            "case", "legacy-link", case.reference, "--actor", official.username,
            "--resident", "A氏", "--provider", "x", stdout=io.StringIO(),
        )  # fmt: skip
    _nothing_attached(case)
