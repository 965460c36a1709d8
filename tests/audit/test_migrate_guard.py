"""`madoguchi migrate` from a shell unapplies nothing on a database whose audit log holds events
unless told to: `migrate audit zero` dropped the audit log's tables with every event, and
`migrate benefits zero` every link and the ledger, in two seconds and without a question."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from madoguchi.audit import events
from madoguchi.audit import services as audit
from madoguchi.audit.management.commands.migrate import Command
from madoguchi.audit.models import AuditEvent
from madoguchi.cli import counted

pytestmark = pytest.mark.django_db

RESIDENTS_LAST = "0005_notice_contact"


def _from_shell(*args: str) -> tuple[int | None, str, str]:
    """As `run_from_argv` runs it (which would also close every connection, the test's too)."""
    command = Command()
    command._called_from_command_line = True
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def _applied() -> set[tuple[str, str]]:
    return set(MigrationRecorder(connection).applied_migrations())


@pytest.fixture
def held() -> int:
    with transaction.atomic():
        audit.record("accounts.sign_in_failed", payload={"n": 1})
    return AuditEvent.objects.count()


def test_unapplying_the_audit_log_from_a_shell_is_refused_while_it_holds_events(held):
    applied = _applied()
    code, _out, err = _from_shell("audit", "zero", "--noinput")
    assert code == 1
    assert err.startswith("migrate would unapply ")
    assert "among them the audit log's own" in err
    assert f"with its {counted(held, 'event')}" in err
    assert "give --erase-audit-log" in err
    assert "Nothing was changed" in err
    assert AuditEvent.objects.count() == held
    assert _applied() == applied
    # --unapply is not enough for the log itself.
    code, _out, err = _from_shell("audit", "zero", "--noinput", "--unapply")
    assert code == 1
    assert "give --erase-audit-log" in err
    assert AuditEvent.objects.count() == held


def test_unapplying_records_from_a_shell_is_refused_naming_the_migrations(held):
    applied = _applied()
    code, _out, err = _from_shell("residents", "0004", "--noinput")
    assert code == 1
    assert err.startswith(f"migrate would unapply 1 migration (residents.{RESIDENTS_LAST}), ")
    assert f"audit log holds {counted(held, 'event')}" in err
    assert "give --unapply" in err
    assert _applied() == applied


def test_a_plan_that_unapplies_many_is_summed_up_by_app(held):
    code, _out, err = _from_shell("identity", "zero", "--noinput")
    assert code == 1
    assert "identity: 2" in err
    assert "benefits: " in err
    assert AuditEvent.objects.count() == held


@pytest.mark.postgres_only  # a migration unapplied inside the test's transaction (DDL in it)
def test_unapplying_on_purpose_is_done_and_recorded(held):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's schema editor cannot work inside the test's transaction")
    code, out, err = _from_shell("residents", "0004", "--noinput", "--unapply")
    assert (code, err) == (0, "")
    assert f"Unapplying residents.{RESIDENTS_LAST}... OK" in out
    assert ("residents", RESIDENTS_LAST) not in _applied()
    event = AuditEvent.objects.latest("seq")
    assert event.event_name == "audit.migrations_unapplied"
    assert event.payload["migrations"] == [f"residents.{RESIDENTS_LAST}"]
    assert event.payload["count"] == 1
    assert event.payload["os_user"]
    line = events.get(event.event_name).render(event.payload, "ja")
    assert line.startswith(
        f"データベースのマイグレーション 1 件を取り消しました（residents.{RESIDENTS_LAST}、"
    )
    # Applying again asks nothing.
    code, _out, err = _from_shell("residents", "--noinput")
    assert (code, err) == (0, "")
    assert ("residents", RESIDENTS_LAST) in _applied()


def test_applying_planning_and_an_empty_log_are_not_asked():
    """Nothing held: a development database is migrated back and forth as ever; a plan is
    only printed."""
    assert AuditEvent.objects.count() == 0
    code, out, err = _from_shell("residents", "0003", "--noinput", "--plan")
    assert (code, err) == (0, "")
    assert f"residents.{RESIDENTS_LAST}" in out
    code, _out, err = _from_shell("residents", "--noinput")
    assert (code, err) == (0, "")


def test_an_unknown_migration_gets_djangos_own_refusal(held):
    code, _out, err = _from_shell("residents", "0999", "--noinput")
    assert code == 1
    assert "Cannot find a migration matching '0999' from app 'residents'" in err


def test_the_options_are_offered_in_the_help():
    text = Command().create_parser("madoguchi", "migrate").format_help()
    assert "--unapply" in text
    assert "--erase-audit-log" in text
