"""What officials, supervisors and desk staff type into a case (its intake, notes, report,
legacy link's records) or a complaint is refused, saying why, when it carries a bidirectional
control or another control character: stored, it showed on the case page, in the report the
city publishes and in the incident list in another order than it was typed (「口座 U+202E 4321」
reads 「口座 1234」), or made a line of its own where none was typed. The resident's comment,
the supervisor's note and every procedure field already refused them (`plaintext.bad_character`,
rule 10); the officials' own text did not (docs/security.md, side doors round 12). Tabs and
line breaks stay ordinary."""

import pytest
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.cases.models import Case, LegacyLink, TimelineEntry
from madoguchi.incidents.models import Incident
from tests import factories
from tests.cases.conftest import legacy_form, open_case, report_url

REASON = "文字の並びを変える制御文字"
CONTROLS = ["口座 \u202e4321\u202c に振込", "A氏\u2067B氏\u2069", "備考\x1b[2J", "\u200f返金済み"]


def _intake(**changes):
    return {
        "resident_label": "A氏",
        "reported_by": "A氏",
        "channel": "in_person",
        "summary": "身に覚えのない登録",
        "date_precision": "unknown",
        **changes,
    }


@pytest.mark.parametrize("text", CONTROLS)
@pytest.mark.parametrize("field", ["summary", "resident_label", "reported_by", "title"])
def test_the_intake_refuses_a_control_character_saying_why(client, desk_staff, field, text):
    client.force_login(desk_staff)
    r = client.post(reverse("cases:new"), _intake(**{field: text}))
    assert r.status_code == 200
    assert REASON in r.content.decode()
    assert not Case.objects.exists()


def test_notes_a_report_and_a_legacy_link_refuse_a_control_character(client, official):
    case = open_case(official)
    client.force_login(official)
    entries = TimelineEntry.objects.filter(case=case).count()
    note = reverse("cases:step", args=[case.pk, "note"])
    r = client.post(
        note, {"note-summary": "返金 \u202e0003\u202c 円", "note-date_precision": "unknown"}
    )
    assert REASON in client.get(r["Location"]).content.decode()
    assert TimelineEntry.objects.filter(case=case).count() == entries
    r = client.post(report_url(case), {"title": "不正\u202eなし", "prevention": "確認"})
    assert r.status_code == 200
    assert REASON in r.content.decode()
    case.refresh_from_db()
    assert "\u202e" not in case.report_title
    url = reverse("cases:legacy_link", args=[case.pk])
    r = client.post(url, legacy_form(provider_name="決済\u202eサービス"))
    assert REASON in client.get(r["Location"]).content.decode()
    assert not LegacyLink.objects.exists()
    # Line breaks and tabs are ordinary text.
    log = "2022-08-10 10:02,\tcard_read, A氏\r\n2022-08-10 10:05, logout, A氏"
    client.post(url, legacy_form(session_log=log))
    assert LegacyLink.objects.count() == 1


def test_a_complaint_refuses_a_control_character(client, db):
    client.force_login(factories.staff(Role.SUPERVISOR))
    url = reverse("incidents:complaint")
    for text in CONTROLS:
        said = client.post(url, {"severity": "high", "summary": f"受付で {text}"})
        assert REASON in said.content.decode(), text
    assert not Incident.objects.exists()
    # A line break is ordinary text.
    said = client.post(url, {"severity": "high", "summary": "受付で待たされた\n二度目"})
    assert (said.status_code, Incident.objects.count()) == (302, 1)
