"""The long-running loops beside `madoguchi serve` outlive a database restart (issue 15, faults):
a sweeper that died at PostgreSQL's first crash left lapsed, abandoned visits open for good
(found by tests/faults/test_process_faults.py)."""

import re

import pytest
from django.core.management import call_command
from django.db import OperationalError

from madoguchi.core.management.commands import sweep as command
from madoguchi.desk.sweep import SweepResult


def test_the_sweep_loop_goes_on_after_a_database_error(monkeypatch, capsys):
    rounds = []

    def sweep():
        rounds.append(1)
        if len(rounds) == 1:
            raise OperationalError("the database system is starting up")
        return SweepResult(ended=1, purged=0)

    monkeypatch.setattr(command, "sweep", sweep)
    monkeypatch.setattr(command, "close_old_connections", lambda: None)
    # Two rounds: the first fails, the second sweeps; then the (gone) parent stops the loop.
    # The parent is gone once the second round ran, however often the waits look for it (they
    # look every PARENT_CHECK_SECONDS and once more at the end of each interval).
    monkeypatch.setattr(command, "_alive", lambda pid: len(rounds) < 2)
    call_command("sweep", every=0.01, parent_pid=1)
    assert len(rounds) == 2
    assert "1 lapsed visit ended, " in capsys.readouterr().out


def test_a_single_sweep_still_fails_loudly(monkeypatch):
    def sweep():
        raise OperationalError("connection refused")

    monkeypatch.setattr(command, "sweep", sweep)
    with pytest.raises(OperationalError):
        call_command("sweep")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("sweep", "--every", "-5"), "--every: must be a number of seconds at least 0, not '-5'"),
        (("outside", "worker", "--every", "0"), "--every: must be a number of seconds more than 0"),
        (("outside", "worker", "--every", "-1"), "more than 0, not '-1'"),
        (("outside", "worker", "--every", "nan"), "more than 0, not 'nan'"),
    ],
)
def test_a_loop_interval_that_would_poll_without_pause_is_refused(args, said):
    """`outside worker --every 0` (or negative) and `sweep --every -5` polled the database in a
    busy loop; they are refused before the loop starts."""
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=re.escape(said)):
        call_command(*args)


def test_ctrl_c_stops_the_sweep_loop_without_a_traceback(monkeypatch):
    """Ctrl-C on `madoguchi sweep --every N`, started by an operator at their terminal, ended
    in a KeyboardInterrupt traceback; it ends the loop after the sweep in progress, as SIGTERM
    does."""
    import os
    import signal

    rounds = []

    def sweep():
        rounds.append(1)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while a sweep runs
        return SweepResult(ended=0, purged=0)

    monkeypatch.setattr(command, "sweep", sweep)
    monkeypatch.setattr(command, "close_old_connections", lambda: None)
    # As the process had it (a run in the background, as CI's, ignores SIGINT): restored after.
    before = signal.getsignal(signal.SIGINT)
    call_command("sweep", every=30)  # would wait 30 s before its next round
    assert len(rounds) == 1
    assert signal.getsignal(signal.SIGINT) == before


def test_ctrl_c_between_crl_imports_stops_without_a_traceback(monkeypatch, capsys):
    """The same for `identity import-crl FILE --every N`, Ctrl-C while it waits."""
    import time
    from types import SimpleNamespace

    from django.utils import timezone

    from madoguchi.identity import services as identity_services
    from madoguchi.identity.management.commands import identity as identity_command

    imported = SimpleNamespace(issuer_dn="CN=Test CA", entries=0, next_update=timezone.now())
    monkeypatch.setattr(identity_services, "crl_import", lambda **kw: imported)
    monkeypatch.setattr(identity_command.Command, "_fetch", lambda self, source: b"")

    def interrupted(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", interrupted)
    call_command("identity", "import-crl", "x.crl", "--every", "3600")
    out = capsys.readouterr().out
    assert "Imported CRL of CN=Test CA" in out
    assert "Stopped; the last import stands." in out
