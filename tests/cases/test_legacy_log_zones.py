"""Round 19: an old terminal's session records with a time zone on one line (an export in
UTC): the line is read on Japan's clock as the others are. It was kept with its zone, and the
case's page and its reports were a server error for good (the case takes one legacy link)."""

from django.urls import reverse

from madoguchi.cases.findings import _session_findings
from madoguchi.cases.legacy import parse_session_log
from madoguchi.cases.models import LegacyLink
from tests.cases.conftest import B_CARD, open_case

LOG = (
    "2022-08-10 10:02, login, 職員X\n"
    "2022-08-10 10:05, card_read, A氏\n"
    "2022-08-10T01:25:00Z, committed, A氏"
)


def test_a_zoned_line_is_read_on_japans_clock():
    records = parse_session_log(LOG)
    assert records[-1]["at"] == "2022-08-10T10:25"


def test_records_stored_with_a_zone_are_read_on_japans_clock():
    stored = [
        {"at": "2022-08-10T10:05", "event": "card_read", "resident": "A氏"},
        {"at": "2022-08-10T01:25+00:00", "event": "committed", "resident": "A氏"},
    ]
    assert _session_findings(stored) is not None


def test_the_case_and_its_reports_show_after_a_zoned_line(client, official):
    case = open_case(official)
    client.force_login(official)
    posted = client.post(
        reverse("cases:legacy_link", args=[case.pk]),
        {
            "legacy-resident_label": "A氏",
            "legacy-provider_name": "キャッシュレス決済サービス",
            "legacy-account_number": B_CARD,
            "legacy-linked_on_precision": "unknown",
            "legacy-session_log": LOG,
        },
    )
    assert posted.status_code == 302
    assert LegacyLink.objects.get().session_log[-1]["at"] == "2022-08-10T10:25"
    for name in ("cases:detail", "cases:report", "cases:report_md", "cases:report_pdf"):
        r = client.get(reverse(name, args=[case.pk]) + "?reason=case_work")
        assert r.status_code == 200, name
