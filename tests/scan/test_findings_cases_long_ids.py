"""A scan finding's case took the input's resident ids as the resident's and the other
resident's labels, and its reasoning (the intake's summary) naming them, unchecked: a resident
id of twelve digits or more (a city's 宛名番号 is often 15) was printed in the city's report,
which every official form refuses (`plaintext.long_number`). The case now names such an id by
its last 4 digits, as an account is masked; the finding's own page, which asks why, shows it
whole."""

import io

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.cases import document
from madoguchi.cases.models import Case
from madoguchi.plaintext import long_number
from madoguchi.scans.models import FindingCase
from tests import factories
from tests.scan.builders import Desk, record

A_ID = "131016000012345"
B_ID = "131016000067890"


def _logout_omission(tmp_path):
    d = Desk()
    d.resident(A_ID, "ヤマダ タロウ", "H1")
    d.resident(B_ID, "スズキ イチロウ", "H2")
    d.event(0, "login")
    d.event(1, "card_read", resident=A_ID)
    d.link("L1", A_ID, "ﾔﾏﾀﾞ ﾀﾛｳ", minute=2)
    d.event(8, "card_removed", resident=A_ID)
    d.event(10, "card_read", resident=B_ID)
    d.link("L2", B_ID, "ｽｽﾞｷ ｲﾁﾛｳ", minute=11)
    d.link("L3", A_ID, "ｽｽﾞｷ ｲﾁﾛｳ", minute=12)
    d.event(18, "card_removed", resident=B_ID)
    d.event(50, "logout")
    record(d, tmp_path)


def test_a_findings_case_and_its_report_carry_no_long_resident_id(db, tmp_path):
    _logout_omission(tmp_path)
    factories.staff(Role.CITY_OFFICIAL, username="city-official")
    call_command(
        "scan", "open-cases", "--min-score", "0", "--as", "city-official", stdout=io.StringIO()
    )
    case = FindingCase.objects.get(link_id="L3").case
    finding = FindingCase.objects.get(link_id="L3").finding
    assert finding.resident_id == A_ID
    assert A_ID in finding.explanation
    assert case.resident_label == "＊＊＊＊2345"
    assert case.other_resident_label == "＊＊＊＊7890"
    assert case.legacy_link.resident_label == "＊＊＊＊2345"
    intake = case.timeline.get(seq=1)
    assert not long_number(intake.summary), intake.summary
    assert "＊＊＊＊2345" in intake.summary
    md = document.to_markdown(document.build(case))
    assert A_ID not in md
    assert B_ID not in md
    assert not long_number(md)
    for other in Case.objects.all():
        assert not long_number(other.resident_label + other.other_resident_label)


def test_a_short_resident_id_is_named_as_it_is(db, tmp_path):
    d = Desk()
    d.resident("R0001", "ヤマダ タロウ", "H1")
    d.resident("R0002", "スズキ イチロウ", "H2")
    d.event(0, "login")
    d.event(1, "card_read", resident="R0002")
    d.link("L3", "R0001", "ｽｽﾞｷ ｲﾁﾛｳ", minute=2)
    d.event(50, "logout")
    record(d, tmp_path)
    factories.staff(Role.CITY_OFFICIAL, username="city-official")
    call_command(
        "scan", "open-cases", "--min-score", "0", "--as", "city-official", stdout=io.StringIO()
    )
    assert FindingCase.objects.get(link_id="L3").case.resident_label == "R0001"


def test_a_scan_cases_session_records_carry_no_long_resident_id(db, tmp_path):
    """The legacy link's session records (the finding's timeline, shown on the case's page)
    name a long resident id by its last 4 digits, as the case's labels and summary do."""
    _logout_omission(tmp_path)
    official = factories.staff(Role.CITY_OFFICIAL, username="city-official")
    call_command(
        "scan", "open-cases", "--min-score", "0", "--as", "city-official", stdout=io.StringIO()
    )
    case = FindingCase.objects.get(link_id="L3").case
    log = case.legacy_link.session_log
    assert A_ID not in str(log)
    assert B_ID not in str(log)
    assert any(line["resident"] == "＊＊＊＊2345" for line in log)
    client = Client()
    client.force_login(official)
    page = client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work")
    html = page.content.decode()
    assert page.status_code == 200
    assert A_ID not in html
    assert B_ID not in html
