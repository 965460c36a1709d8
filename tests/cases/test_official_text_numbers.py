"""What officials type and the system stores and shows (a case's intake and notes, a report's
measures, a legacy link's records, a complaint) is refused, saying why, when it carries a run
of 12 digits or more: the rule the resident's "this was not me" comment follows
(`plaintext.long_number`), since an individual number, a payment service ID or a bank account
pasted there reached the case, its report and the officials who read them (docs/security.md,
side doors round 4). A telephone number passes."""

import pytest
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.cases.models import Case, LegacyLink, TimelineEntry
from madoguchi.incidents.models import Incident
from tests import factories
from tests.cases.conftest import legacy_form, open_case, report_url

NUMBERS = [
    "1234 5678 9012",
    "１２３４５６７８９０１２",
    "7010-0000-0000-0001",
    "0990 002 3456789",
    "1234\u200b5678\u200b9012",  # zero-width spaces: shown as 123456789012 (round 12)
    "1234 – 5678 – 9012",  # en dashes with spaces around them (round 12)
]
REASON = "ここには番号を書かないでください"
PHONE = "090-1234-5678 に折り返し"


def _intake(summary):
    return {
        "resident_label": "A氏",
        "reported_by": "A氏",
        "channel": "in_person",
        "summary": summary,
        "date_precision": "unknown",
    }


@pytest.mark.parametrize("number", NUMBERS)
def test_the_intake_refuses_a_long_number_saying_why(client, official, number):
    client.force_login(official)
    r = client.post(reverse("cases:new"), _intake(f"個人番号は {number} とのこと"))
    assert r.status_code == 200
    assert REASON in r.content.decode()
    assert not Case.objects.exists()
    assert client.post(reverse("cases:new"), _intake(PHONE)).status_code == 302
    assert TimelineEntry.objects.get(case=Case.objects.get()).summary == PHONE


def test_a_note_a_report_and_a_legacy_link_refuse_a_long_number(client, official):
    case = open_case(official)
    client.force_login(official)
    note = reverse("cases:step", args=[case.pk, "note"])
    entries = TimelineEntry.objects.filter(case=case).count()
    r = client.post(
        note, {"note-summary": "口座 0990 002 3456789", "note-date_precision": "unknown"}
    )
    assert REASON in client.get(r["Location"]).content.decode()
    assert TimelineEntry.objects.filter(case=case).count() == entries
    r = client.post(report_url(case), {"prevention": "ID 7010000000000001"})
    assert r.status_code == 200
    assert REASON in r.content.decode()
    case.refresh_from_db()
    assert "7010000000000001" not in case.report_prevention
    legacy = legacy_form(session_log="2022-08-10 10:02, card_read, 123456789012")
    r = client.post(reverse("cases:legacy_link", args=[case.pk]), legacy)
    assert REASON in client.get(r["Location"]).content.decode()
    assert not LegacyLink.objects.exists()
    legacy["legacy-session_log"] = "2022-08-10 10:02, card_read, A氏"
    r = client.post(reverse("cases:legacy_link", args=[case.pk]), legacy)
    assert LegacyLink.objects.count() == 1  # the payment card number is its own field


def test_a_complaint_refuses_a_long_number(client, db):
    client.force_login(factories.staff(Role.SUPERVISOR))
    body = {"severity": "medium", "reported_by": "来庁者", "summary": "番号 1234-5678-9012"}
    r = client.post(reverse("incidents:complaint"), body)
    assert r.status_code == 200
    assert REASON in r.content.decode()
    assert not Incident.objects.exists()
