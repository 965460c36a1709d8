"""An official's read of a scan finding about residents `scan export` wrote out reaches those
residents' "who looked at my records" (docs/resident.md): the export writes each card holder
under their public id and records the export on their page, and a finding of a recorded scan
of it names the same residents (their ids, the account holder's name, the account's last 4),
but its read was recorded with no resident (side doors, round 20)."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.identity.access import READ_PAGES, READ_REASONS
from madoguchi.residents.selectors import access_history
from madoguchi.scan import schema
from madoguchi.scans.models import Finding, ScanRun
from tests import factories
from tests.benefits.conftest import apply_fields, commit, prepare, start_visit
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401
from tests.scan.test_scans_app import _exported_link

pytestmark = pytest.mark.usefixtures("providers", "systems")


def _recorded(tmp_path, row, other=""):
    """What `scan run --record` stores for a finding on the export's `row` (a typed-wrong-ID
    cause naming `other` as the other resident)."""
    run = ScanRun.objects.create(
        started_at=timezone.now(), engine="duckdb", input_dir=str(tmp_path / "x"),
        out_dir=str(tmp_path / "o"), seconds=1.0,
    )  # fmt: skip
    finding = Finding.objects.create(
        run=run, link_id=row["link_id"], cause="typed_wrong_id", score=0.9,
        rule="typed_wrong_id.v1", resident_id=row["resident_id"], other_resident_id=other,
        programme=row["programme"], channel="desk", municipality_code=row["municipality_code"],
        terminal_id=row["terminal_id"], staff_id=row["staff_id"], linked_at=timezone.now(),
        holder_check=0, account_hash=row["account_hash"] or "", account_last4=row["account_last4"] or "",
        holder_kana=row["holder_kana"] or "", explanation="x", timeline=[],
    )  # fmt: skip
    return run, finding


def _pages(holder):
    """The pages of the reads on the holder's own page, oldest first (by their codes)."""
    codes = {str(label): code for code, label in READ_PAGES.items()}
    return [codes.get(str(r["page"]), str(r["page"])) for r in reversed(access_history(holder))]


def _linked(trusted, card):
    """One point link of `card`'s resident committed at a desk (the simulator's account in
    鈴木 一郎's name)."""
    from madoguchi.terminals import services as terminal_services

    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    c = trusted.card(card)
    start_visit(desk, c)
    prepare(desk, **apply_fields(psid="7010000000000003", code="890", kana="スズキ イチロウ"))
    return commit(desk, c)


def _exported(trusted, tmp_path):
    """Residents C and B, each with a link, written out by `scan export`: their holders and C's
    row in links."""
    c = _exported_link(trusted).visit.holder
    a = _linked(trusted, "B").visit.holder  # 鈴木 一郎, his own account
    call_command("scan", "export", str(tmp_path / "x"), stdout=io.StringIO())
    rows = schema.load(tmp_path / "x")["links"].to_pylist()
    (row,) = [r for r in rows if r["resident_id"] == str(c.public_id)]
    return c, a, row


def test_an_officials_read_of_a_finding_reaches_both_residents_it_names(trusted, tmp_path):
    c, a, row = _exported(trusted, tmp_path)
    _run, finding = _recorded(tmp_path, row, other=str(a.public_id))
    before = {"C": _pages(c), "A": _pages(a)}
    client = Client()
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    r = client.get(f"/scans/findings/{finding.pk}/?reason=case_work")
    assert r.status_code == 200
    assert row["resident_id"] in r.content.decode()
    after = {"C": _pages(c), "A": _pages(a)}
    assert after == {"C": before["C"] + ["scans.finding"], "A": before["A"] + ["scans.finding"]}
    assert access_history(c)[0]["reason"] == READ_REASONS["case_work"]


def test_a_runs_page_of_findings_is_a_read_of_each_resident_on_it(trusted, tmp_path):
    c, a, row = _exported(trusted, tmp_path)
    run, _finding = _recorded(tmp_path, row)
    before = {"C": _pages(c), "A": _pages(a)}
    client = Client()
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    assert client.get(f"/scans/{run.pk}/?reason=audit").status_code == 200
    # C's finding is listed; A is on no row of it.
    assert {"C": _pages(c), "A": _pages(a)} == {
        "C": before["C"] + ["scans.run"],
        "A": before["A"],
    }


def test_a_finding_about_no_holder_here_is_still_in_the_audit_log(trusted, tmp_path):
    from madoguchi.audit.models import AuditEvent

    _c, _a, row = _exported(trusted, tmp_path)
    _run, finding = _recorded(tmp_path, {**row, "resident_id": "R-00042"}, other="not-a-uuid")
    client = Client()
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    assert client.get(f"/scans/findings/{finding.pk}/?reason=case_work").status_code == 200
    read = AuditEvent.objects.filter(event_name="identity.record_read").latest("seq")
    assert (read.subject_type, read.subject_id) == ("scans.finding", str(finding.pk))
