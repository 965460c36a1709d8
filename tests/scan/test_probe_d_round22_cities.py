"""Probe D, side doors round 22 (issue 13, the forensic scan), defects 1 and 7: two cities'
inputs that use the same terminal and link IDs. Moved out of test_probe_d_round22.py as found
(another fixer's); each test asserts the right behaviour and fails on main as found."""

import io

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.accounts.constants import Role
from madoguchi.scans.models import FindingCase, ScanRun
from tests import factories
from tests.scan.builders import Desk

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"
B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"


def _run(data, out, *options):
    call_command(
        "scan",
        "run",
        str(data),
        "--out",
        str(out),
        "--no-pdf",
        *options,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def _refusal(data, out, *options):
    """`scan run`'s refusal (its one line), or None when the run wrote its files."""
    try:
        _run(data, out, *options)
    except CommandError as refused:
        return str(refused)
    return None


# --- 1. two cities' terminals of one name -------------------------------------------------


def test_a_terminal_id_two_cities_both_use_is_not_read_as_one_terminal(tmp_path):
    """A national office scans two cities' exports together. Each city's own system names its
    first desk `T1` (madoguchi's export writes the terminal's name, `desk-01`, unique only
    within its deployment), and desk_events has no municipality column. The scan reads both
    cities' events as one terminal's log: city X's honest commit of A's own account, under
    X's staff member S1 who is signed in at X's T1, is reported as a lent terminal because
    city Y's S2 signed in at Y's T1 half a minute later. The input should be refused (a
    terminal whose links are of two municipalities, naming the file and column) or the two
    logs kept apart; it must not flag an honest link."""
    d = Desk()
    d.resident("A", "ヤマダ タロウ", "H1", "131016")
    d.resident("B", "スズキ イチロウ", "H2", "271004")
    d.event(0, "login", staff="S1")  # city X, its T1
    d.event(0.5, "login", staff="S2")  # city Y, its own T1
    d.event(1, "card_read", resident="A", staff="S1")
    d.event(2, "card_read", resident="B", staff="S2")
    d.link("LX1", "A", A_OWN, minute=3, staff="S1")
    d.link("LY1", "B", B_OWN, minute=4, staff="S2")
    d.links[1]["municipality_code"] = "271004"
    d.event(10, "logout", staff="S1")
    d.event(11, "logout", staff="S2")
    data = d.write(tmp_path / "data")
    out = tmp_path / "out"
    refused = _refusal(data, out)
    if refused is not None:
        assert "terminal_id" in refused
        assert not out.exists() or not any(out.iterdir())
        return
    found = pq.read_table(out / "findings.parquet").to_pylist()
    assert [(f["link_id"], f["cause"]) for f in found] == []


# --- 7. the same link id in two cities' runs -----------------------------------------------


def _city_desk(code):
    d = Desk()
    d.resident("A", "ヤマダ タロウ", "H1", code)
    d.resident("B", "スズキ イチロウ", "H2", code)
    d.event(0, "login")
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident="B")
    d.link("L2", "B", B_OWN, minute=11)
    d.link("L3", "A", B_OWN, minute=12)  # a logout omission: A's link into B's account
    d.event(20, "logout")
    for link in d.links:
        link["municipality_code"] = code
    return d


@pytest.mark.django_db
def test_a_link_id_another_citys_case_has_still_gets_its_own_case(tmp_path):
    """Two cities' legacy systems both number their links L1, L2, … (madoguchi's own export
    writes `mynapoint_2-<pk>`, numbered per deployment). テスト市 (131016) records its scan and
    opens the case of its logout omission L3; 別の市 (271004) records its own scan, with its
    own logout omission L3. Its official's `open-cases` opens nothing: "0 cases, 1 already had
    one" -- the other city's case, which they cannot even read. A case is a link's of one
    municipality: the same id in another city's finding is another link."""
    from tests.scan.test_scans_app import _official_of

    def record(code, name):
        call_command(
            "scan",
            "run",
            str(_city_desk(code).write(tmp_path / f"data-{name}")),
            "--out",
            str(tmp_path / f"out-{name}"),
            "--record",
            "--no-pdf",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

    def open_cases(username):
        out = io.StringIO()
        call_command("scan", "open-cases", "--min-score", "0.5", "--as", username, stdout=out)
        return out.getvalue()

    record("131016", "x")
    factories.staff(Role.CITY_OFFICIAL, username="official-x")  # テスト市, 131016
    assert "opened 1 case" in open_cases("official-x")
    record("271004", "y")
    assert ScanRun.objects.count() == 2
    _official_of("別の市", "271004")
    assert "opened 1 case" in open_cases("official-別の市")
    codes = sorted(fc.finding.municipality_code for fc in FindingCase.objects.all())
    assert codes == ["131016", "271004"]
