"""A log written on SQLite before the forty-second session took the clock's time at each
append without reading the previous event's, so a clock set back (NTP) wrote an event earlier
than the one before it. The log is append-only: that event stays for good. `audit verify`
called it "added by other means" and `audit checkpoint` could never sign again; a time going
back is now a warning naming the event (on SQLite), and the other rules still fail."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from madoguchi.audit import services as audit
from madoguchi.audit.verify import verify_chain

from .test_verify_forged_appends import _append_raw

pytestmark = pytest.mark.django_db


def _old_append_with_the_clock_stepped_back(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's append let time go back until the forty-second session")
    with transaction.atomic():
        audit.record("accounts.sign_in_failed", payload={"username": "a", "reason": "x"})
    # The append as it was before: the head's time not read, the clock's time taken.
    real = audit._lock_and_read_head

    def old_head(using):
        head = real(using)
        return None if head is None else (head[0], head[1], datetime(1970, 1, 1, tzinfo=UTC))

    with monkeypatch.context() as patch:
        patch.setattr(audit, "_lock_and_read_head", old_head)
        stepped_back = audit.timezone.now() - timedelta(seconds=2)
        patch.setattr(audit.timezone, "now", lambda: stepped_back)
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": "b", "reason": "x"})


def test_an_old_sqlite_log_whose_clock_stepped_back_verifies_with_a_warning(monkeypatch):
    _old_append_with_the_clock_stepped_back(monkeypatch)
    result = verify_chain()
    assert result.ok, result.message
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("Warning: event #2's time ")
    out = io.StringIO()
    call_command("audit", "verify", "--skip-checkpoints", stdout=out)  # exit 0
    assert "Warning: event #2's time " in out.getvalue()


def test_checkpoint_still_signs_an_old_sqlite_log_whose_clock_stepped_back(monkeypatch):
    _old_append_with_the_clock_stepped_back(monkeypatch)
    audit.create_checkpoint_key()
    assert audit.write_checkpoint().size == 2


def test_the_other_rules_still_fail_on_sqlite_after_a_time_going_back(monkeypatch):
    _old_append_with_the_clock_stepped_back(monkeypatch)
    _append_raw(event_name="evil.thing")
    with pytest.raises(CommandError, match=r"^Audit log broken at sequence number 3: its event "):
        call_command("audit", "verify", "--skip-checkpoints", stdout=io.StringIO())
