"""`madoguchi flush` from a shell refuses to erase an audit log that holds events unless told
to (`--erase-audit-log`): with Django's question skipped (`--noinput`), one line run by
someone with the owner's rights emptied the log and the ledger without a word."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from madoguchi.audit import services as audit
from madoguchi.audit.management.commands.flush import Command
from madoguchi.audit.models import AuditEvent
from madoguchi.cli import counted

pytestmark = pytest.mark.django_db


def _from_shell(*args: str) -> tuple[int | None, str]:
    """As `run_from_argv` runs it (which also closes every connection, the test's too)."""
    command = Command()
    command._called_from_command_line = True
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(command, *args, stdout=io.StringIO(), stderr=err)
    return exited.value.code, err.getvalue()


def test_flush_from_a_shell_refuses_a_log_that_holds_events():
    with transaction.atomic():
        audit.record("accounts.sign_in_failed", payload={"n": 1})
    held = AuditEvent.objects.count()
    code, err = _from_shell("--noinput")
    assert code == 1
    assert err.startswith(f"The audit log holds {counted(held, 'event')}: flush would erase them")
    assert "give --erase-audit-log" in err
    assert AuditEvent.objects.count() == held


def test_the_option_is_offered_in_the_help():
    parser = Command().create_parser("madoguchi", "flush")
    assert "--erase-audit-log" in parser.format_help()
