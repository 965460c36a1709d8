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


@pytest.mark.django_db(transaction=True)  # committed or not, as another connection sees it
def test_an_unapply_is_recorded_before_the_first_drop_and_ctrl_c_records_what_was_done(
    monkeypatch,
):
    """The record was written only after Django's migrate returned: Ctrl-C or kill -9 mid-way
    dropped tables with no event. The intent is now committed first (what another connection
    reads as the first table goes), and Ctrl-C records what was unapplied before it."""
    from django.db.migrations.executor import MigrationExecutor

    with transaction.atomic():
        audit.record("accounts.sign_in_failed", payload={"n": 1})
    seen: list[tuple[str, str]] = []
    real = MigrationExecutor.unapply_migration

    def unapply(self, state, migration, fake=False):
        other = connection.copy()  # a connection of its own: sees only what is committed
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT event_name FROM audit_auditevent ORDER BY seq DESC LIMIT 1")
                seen.append((migration.name, cursor.fetchone()[0]))
        finally:
            other.close()
        if len(seen) == 2:
            raise KeyboardInterrupt  # Ctrl-C as the second migration starts
        return real(self, state, migration, fake=fake)

    monkeypatch.setattr(MigrationExecutor, "unapply_migration", unapply)
    try:
        with pytest.raises(KeyboardInterrupt) as interrupted:  # the script's one line says it
            _from_shell("residents", "0003", "--noinput", "--unapply")
    finally:
        monkeypatch.undo()
        call_command("migrate", "residents", verbosity=0)
    assert str(interrupted.value) == (
        "the migrations unapplied before it stay unapplied; `madoguchi migrate --plan` shows "
        "what is left; the audit log records which were unapplied"
    )
    plan = [f"residents.{RESIDENTS_LAST}", "residents.0004_end_reason_absolute_limit"]
    assert seen == [
        (RESIDENTS_LAST, "audit.migrations_unapplying"),
        ("0004_end_reason_absolute_limit", "audit.migrations_unapplying"),
    ]
    outcome, intent = AuditEvent.objects.order_by("-seq")[:2]  # applying again recorded none
    assert intent.event_name == "audit.migrations_unapplying"
    assert (intent.payload["count"], intent.payload["migrations"]) == (2, plan)
    assert (
        events.get(intent.event_name)
        .render(intent.payload, "ja")
        .startswith(
            f"データベースのマイグレーション 2 件を取り消します（residents.{RESIDENTS_LAST}、"
        )
    )
    assert outcome.event_name == "audit.migrations_unapplied"
    assert outcome.payload["migrations"] == plan[:1]  # the one done before Ctrl-C


@pytest.mark.postgres_only  # a migration unapplied inside the test's transaction (DDL in it)
def test_unapplying_an_audit_migration_that_drops_no_table_needs_only_unapply(held):
    """audit.0008 adds a CHECK constraint (nothing on SQLite): unapplying it was refused as
    dropping "the audit log's tables with its N events", and only --erase-audit-log, which
    records nothing, got through. It is asked and recorded as any app's unapply."""
    code, _out, err = _from_shell("audit", "0007", "--noinput")
    assert code == 1
    assert "its tables would be dropped" not in err
    assert "give --unapply" in err
    if connection.vendor != "postgresql":
        return  # SQLite's schema editor cannot work inside the test's transaction
    code, _out, err = _from_shell("audit", "0007", "--noinput", "--unapply")
    assert code == 0, err
    assert ("audit", "0008_payload_rules") not in _applied()
    names = list(AuditEvent.objects.order_by("seq").values_list("event_name", flat=True))
    assert names[-2:] == ["audit.migrations_unapplying", "audit.migrations_unapplied"]
    code, _out, err = _from_shell("audit", "--noinput")  # applied again for the next tests
    assert code == 0, err


def test_unapplying_the_append_function_still_needs_erase_audit_log(held):
    """Only a migration that keeps the log's rows, its triggers and its append function as they
    are goes through with --unapply alone (audit.0008): unapplying the append function (0006)
    would leave the unapply's own record, and every later event, with no way to be appended."""
    code, _out, err = _from_shell("audit", "0005", "--noinput", "--unapply")
    assert code == 1
    assert "--erase-audit-log" in err
    assert ("audit", "0006_append_function") in _applied()
