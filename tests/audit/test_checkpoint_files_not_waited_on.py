"""A FIFO, a link to /dev/zero or a huge file under a checkpoint's (or the signing key's) name:
`audit verify` and `audit checkpoint` name it and go on, instead of reading it forever; and
`audit checkpoint` verifies holding nothing of the log, so that a slow verification never
stops the desks recording (it held the head lock from before the walk until its commit)."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from madoguchi.audit import conf
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditCheckpoint, AuditEvent

pytestmark = pytest.mark.django_db


class Hung(Exception):
    """Raised by the alarm: the command was still reading after the time it was given (not an
    OSError, which a reader's `except OSError` would take for a file that cannot be read)."""


@contextmanager
def at_most(seconds: int, error: type[BaseException] = Hung) -> Iterator[None]:
    def ring(*_: object) -> None:
        raise error("still reading: the command waited on the file")

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": f"u{i}", "reason": "x"})


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _huge(path: Path) -> Path:
    with path.open("wb") as out:
        out.truncate(1_000_001)  # one byte more than a checkpoint file may have
    return path


def _zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


ODD = pytest.mark.parametrize(
    ("make", "says"),
    [
        (_fifo, "it is not a regular file but a device, a pipe or a socket"),
        (_zero, "it is not a regular file but a device, a pipe or a socket"),
        (_huge, "it is larger than 1,000,000 bytes"),
    ],
    ids=["fifo", "link-to-dev-zero", "huge"],
)


@ODD
def test_verify_names_an_odd_file_named_like_a_checkpoint_without_reading_it(make, says):
    audit.create_checkpoint_key()
    _record(2)
    audit.write_checkpoint()
    odd = make(conf.checkpoint_dir() / "checkpoint-000000000099.txt")
    with at_most(5), pytest.raises(CommandError) as refused:
        call_command("audit", "verify", stdout=io.StringIO())
    assert str(refused.value) == (
        f"checkpoint file {odd} does not verify: it cannot be read ({says})."
    )


@ODD
def test_checkpoint_refuses_at_once_over_an_odd_file_and_signs_nothing(make, says):
    audit.create_checkpoint_key()
    _record(2)
    conf.checkpoint_dir().mkdir(parents=True, exist_ok=True)
    odd = make(conf.checkpoint_dir() / "checkpoint-000000000001.txt")
    with at_most(5), pytest.raises(CommandError) as refused:
        call_command("audit", "checkpoint", stdout=io.StringIO())
    assert str(refused.value).endswith(
        f"checkpoint file {odd} does not verify: it cannot be read ({says})."
    )
    assert not AuditCheckpoint.objects.exists()


def test_an_alarm_while_a_fifo_is_read_is_not_a_file_that_cannot_be_read_none():
    """A handler that raises an OSError without an errno (TimeoutError, as `timeout` wrappers
    do) was taken for the file's error: "it cannot be read (None)"."""
    audit.create_checkpoint_key()
    _record(1)
    audit.write_checkpoint()
    _fifo(conf.checkpoint_dir() / "checkpoint-000000000099.txt")
    with at_most(5, TimeoutError), pytest.raises(CommandError) as refused:
        call_command("audit", "verify", stdout=io.StringIO())
    assert "(None)" not in str(refused.value)
    assert "not a regular file" in str(refused.value)


class _Os:
    """The os module, with some of its functions replaced (for `files` alone)."""

    def __init__(self, **replaced: object) -> None:
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)


def test_an_error_that_is_not_the_file_systems_is_not_swallowed(tmp_path, monkeypatch):
    from madoguchi.audit import files

    path = tmp_path / "checkpoint-000000000001.txt"
    path.write_text("x")

    def interrupted(*_: object) -> None:
        raise TimeoutError("the caller's alarm")

    monkeypatch.setattr(files, "os", _Os(stat=interrupted))
    with pytest.raises(TimeoutError, match="the caller's alarm"):
        files.read_small_file(path, 10)


def test_a_file_replaced_by_a_fifo_after_it_was_looked_at_is_not_waited_on(tmp_path, monkeypatch):
    from madoguchi.audit import files

    path = tmp_path / "checkpoint-000000000001.txt"
    path.write_text("x")

    def stat_then_swap(target: Path) -> os.stat_result:
        result = os.stat(target)
        path.unlink()
        os.mkfifo(path)
        return result

    monkeypatch.setattr(files, "os", _Os(stat=stat_then_swap))
    with at_most(5), pytest.raises(files.Unreadable, match="not a regular file"):
        files.read_small_file(path, 10)


@ODD
def test_an_odd_file_as_the_signing_key_is_one_sentence(settings, tmp_path, make, says):
    key = make(tmp_path / "key.pem")
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(key)
    with at_most(5), pytest.raises(CommandError) as refused:
        call_command("audit", "pubkey", stdout=io.StringIO())
    assert str(refused.value) == (
        f"The checkpoint signing key at {key} (AUDIT_CHECKPOINT_KEY_FILE) cannot be read: "
        f"{says.replace('1,000,000', '65,536')}."
    )


@pytest.mark.django_db(transaction=True)
def test_checkpoint_holds_no_lock_of_the_log_while_it_verifies(monkeypatch):
    """The walk and the files are read holding nothing: the desks record meanwhile."""
    if connection.vendor != "postgresql":
        pytest.skip("the head lock is PostgreSQL's advisory lock (SQLite's is the transaction's)")
    audit.create_checkpoint_key()
    _record(3)
    held: list[int] = []
    real = audit.verify_log

    def verify_log(**kwargs: object):  # type: ignore[no-untyped-def]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted"
            )
            held.append(cursor.fetchone()[0])
        return real(**kwargs)

    monkeypatch.setattr(audit, "verify_log", verify_log)
    audit.write_checkpoint()
    assert held == [0]
    assert AuditCheckpoint.objects.get().size == 3


def test_checkpoint_refuses_when_the_verified_head_changed_before_it_signs(monkeypatch):
    """Verified without a lock, the first `size` events are checked once more before signing:
    a log rewritten in between is not signed."""
    if connection.vendor != "postgresql":
        pytest.skip("rewritten as a superuser, with the triggers bypassed (PostgreSQL)")
    audit.create_checkpoint_key()
    _record(3)
    real = audit.verify_log

    def verify_then_rewrite(**kwargs: object):  # type: ignore[no-untyped-def]
        report = real(**kwargs)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("UPDATE audit_auditevent SET chain_hash = %s WHERE seq = 3", ["0" * 64])
            cursor.execute("SET LOCAL session_replication_role = origin")
        return report

    monkeypatch.setattr(audit, "verify_log", verify_then_rewrite)
    with pytest.raises(audit.AuditError, match=r"event #3, the last one verified, changed or went"):
        audit.write_checkpoint()
    assert not AuditCheckpoint.objects.exists()
    assert AuditEvent.objects.count() == 3
