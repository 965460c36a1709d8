"""What leaves the database as scan input (`scan export`) and what a run puts before the
officials (`scan run --record`) are audit events: both left no trace, though the export writes
every resident's reading, links and desk records to files."""

from __future__ import annotations

import getpass
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.accounts.models import Organisation
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.selectors import display
from madoguchi.identity.access import READ_REASONS
from madoguchi.residents.selectors import access_history
from madoguchi.terminals import services as terminal_services
from tests import factories
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401
from tests.scan.test_scans_app import _exported_link, _record
from tests.visits import start_visit


@pytest.mark.usefixtures("providers", "systems")
def test_an_export_is_an_audit_event_naming_who_what_and_where(trusted, tmp_path):
    _exported_link(trusted)
    out = tmp_path / "mine"
    call_command("scan", "export", str(out), stdout=io.StringIO())
    event = AuditEvent.objects.get(event_name="scans.exported")
    assert event.payload["directory"] == str(out.resolve())
    assert event.payload["links"] == 1
    assert event.payload["residents"] == 1
    assert event.payload["verified"] == 1
    assert event.payload["events"] >= 2
    assert event.payload["os_user"] == getpass.getuser()
    line = display(event, "ja")
    assert "紐付け点検の入力として記録を書き出しました（住民 1 件、紐付け 1 件" in line
    assert str(out.resolve()) in line


@pytest.mark.usefixtures("providers", "systems")
def test_each_resident_exported_sees_the_read_on_their_own_page(trusted, tmp_path):
    """Lists and exports of several residents' records record one read per resident shown
    (docs/resident.md); the scan's export, every resident's reading, links and desk records
    written to files, recorded none: a resident's page did not say their records had left."""
    exported = _exported_link(trusted, "C").visit.holder
    # A resident whose card was read at a desk but who has no link: not in the export.
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    unlinked = start_visit(desk, trusted.card("A")).holder
    reads = AuditEvent.objects.filter(event_name="identity.record_read")
    before = reads.count()
    call_command("scan", "export", str(tmp_path / "out"), stdout=io.StringIO())
    new = list(reads.order_by("seq")[before:])
    assert [e.subject_id for e in new] == [str(exported.pk)]
    assert not access_history(unlinked)
    assert all(e.subject_type == "identity.holder" for e in new)
    assert all(e.actor_id in (None, "") for e in new)
    assert {e.payload["page"] for e in new} == {"scans.export"}
    assert {e.payload["os_user"] for e in new} == {getpass.getuser()}
    # In the audit log, the reader is the OS user (it read 「システム」).
    assert display(new[0], "ja").startswith(
        f"OS ユーザー {getpass.getuser()} が住民の記録を閲覧しました（誤った紐付けの点検："
    )
    assert display(new[0], "en").startswith(f"OS user {getpass.getuser()} viewed a resident's")
    with translation.override("ja"):
        row = access_history(exported)[0]
        assert (
            str(row["page"])
            == "誤った紐付けの点検：あなたの紐付けと窓口の記録を、点検の入力として書き出しました"
        )
        assert str(row["role"]) == "運用担当者（サーバーでのコマンド）"
        assert str(row["reason"]) == str(READ_REASONS["audit"])
        assert row["organisation"] == "—"


@pytest.mark.usefixtures("providers", "systems")
def test_a_refused_export_writes_nothing_and_records_nothing(trusted, tmp_path):
    _exported_link(trusted)
    Organisation.objects.filter(kind=OrganisationKind.CITY).update(municipality_code="")
    with pytest.raises(CommandError):
        call_command("scan", "export", str(tmp_path / "out"))
    assert not AuditEvent.objects.filter(event_name="scans.exported").exists()
    assert not AuditEvent.objects.filter(event_name="identity.record_read").exists()


def test_a_recorded_run_is_an_audit_event(db, tmp_path):
    run = _record(tmp_path)
    event = AuditEvent.objects.get(event_name="scans.run_recorded")
    assert event.payload["run"] == run.pk
    assert event.payload["findings"] == run.findings.count()
    assert event.payload["os_user"] == getpass.getuser()
    assert event.subject_id == str(run.pk)
    assert f"recorded scan run #{run.pk}" in display(event, "en")


@pytest.mark.usefixtures("providers", "systems")
def test_an_anchor_no_longer_trusted_still_verifies_what_it_signed_then(trusted, tmp_path):
    """A completion is re-verified as of its commit: a CA deactivated since (a J-LIS
    generation retired) signed it while it was trusted; the export refused every such
    completion as not verifying, and with it the whole export."""
    from madoguchi.identity.models import TrustAnchor

    _exported_link(trusted)
    anchor = TrustAnchor.objects.get(name="JPKI-TEST")
    call_command("identity", "deactivate-anchor", anchor.fingerprint, stdout=io.StringIO())
    out = io.StringIO()
    call_command("scan", "export", str(tmp_path / "out"), stdout=out)
    event = AuditEvent.objects.get(event_name="scans.exported")
    assert event.payload["verified"] == 1
    assert event.payload["links"] == 1
