"""What officials type and the system stores and shows (a case's intake and notes, a report's
measures, a legacy link's records, a complaint) is refused, saying why, when it carries a run
of 12 digits or more: the rule the resident's "this was not me" comment follows
(`plaintext.long_number`), since an individual number, a payment service ID or a bank account
pasted there reached the case, its report and the officials who read them (docs/security.md,
side doors round 4). A telephone number passes."""

import pytest
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.cases import services
from madoguchi.cases.models import Case, LegacyLink, TimelineEntry
from madoguchi.incidents.models import Incident
from madoguchi.plaintext import long_number
from tests import factories
from tests.cases.conftest import legacy_form, open_case, report_url

NUMBERS = [
    "1234 5678 9012",
    "１２３４５６７８９０１２",
    "7010-0000-0000-0001",
    "0990 002 3456789",
    "1234\u200b5678\u200b9012",  # zero-width spaces: shown as 123456789012 (round 12)
    "1234 – 5678 – 9012",  # en dashes with spaces around them (round 12)
    # The marks a Japanese writer puts between a number's groups (round 18).
    "1234、5678、9012",
    "1234，5678，9012",
    "1234,5678,9012",
    "1234.5678.9012",
    "1234・5678・9012",
    "1234/5678/9012",
    "1234 / 5678 / 9012",
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


# Date ranges and lists of dates, as case notes write them: sixteen digits or more with only
# spaces or dashes between, each run of digits a whole real date (round 13 "Left").
DATE_RANGES = [
    "2026-12-01 - 2026-12-02",
    "2026-12-01 2026-12-02",
    "2026-12-01-2026-12-02",
    "2026-12-01 – 2026-12-02",  # an en dash between
    "2026/12/01 - 2026-12-02 2026-12-03",  # a slash date, then two with hyphens
    "２０２６－１２－０１　－　２０２６－１２－０２",  # full-width, ideographic spaces
    "2026-12-01 2026-12-02 2026-12-03",
    "2026-12-01\n2026-12-02",  # one a line
    "2026-12-01、2026-12-02",  # a list, as Japanese writes one (round 18)
    "2026.12.01 ・ 2026.12.02",
    "2024-02-29 - 2100-12-31",
]
# Twelve digits or more that merely look date-ish: still a number the rule refuses.
DATE_ISH_NUMBERS = [
    "1234-5678-9012",
    "2026-1201-2026",
    "2026-12-01-1234",  # a date with four digits glued on
    "1234-2026-12-01",
    "2026-12-01 2026-12-02 1234",
    "2026-12-01 123456789012",  # a real date before an individual number
    "2026-13-01 2026-12-02",  # no 13th month
    "2026-12-32 2026-12-02",
    "2026-02-30 2026-12-02",  # no 30 February
    "2025-02-29 2026-12-02",
    "1899-12-31 2026-12-02",  # years 1900 to 2100 only
    "2101-01-01 2026-12-02",
    "2026-1-5 2026-1-6",  # twelve digits: a date's month and day are two digits each
    "2026-12-01 2026-12-0２3",
    "2026-12-012026-12-02",
    "2026 12 01 2026 12 02",  # not a date's hyphens or slashes
]


@pytest.mark.parametrize("text", DATE_RANGES)
def test_a_date_range_is_not_a_long_number(text):
    assert not long_number(f"対応期間 {text} の記録")


@pytest.mark.parametrize("text", DATE_ISH_NUMBERS)
def test_digits_that_merely_look_like_dates_are_still_a_long_number(text):
    assert long_number(f"対応期間 {text} の記録")


def test_a_note_with_a_date_range_is_recorded_and_a_date_ish_number_refused(client, official):
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    note = reverse("cases:step", args=[case.pk, "note"])
    entries = TimelineEntry.objects.filter(case=case).count()
    summary = "2026-12-01 - 2026-12-02 の窓口記録を確認した。2026-12-01 2026-12-02 に来庁。"
    r = client.post(note, {"note-summary": summary, "note-date_precision": "unknown"})
    assert REASON not in client.get(r["Location"]).content.decode()
    assert TimelineEntry.objects.filter(case=case).latest("pk").summary == summary
    r = client.post(
        note, {"note-summary": "2026-12-01 1234-5678-9012", "note-date_precision": "unknown"}
    )
    assert REASON in client.get(r["Location"]).content.decode()
    assert TimelineEntry.objects.filter(case=case).count() == entries + 1
