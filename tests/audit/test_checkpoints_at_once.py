"""`audit checkpoint` verifies without the log's lock. While its walk runs (one
snapshot), the log goes on and another `audit checkpoint` (the hourly timer, an operator)
signs a later size and commits. The first one's checkpoint check, which reads the table and
the folder after its snapshot, then finds a checkpoint vouching for more events than its
snapshot holds and refuses to sign, calling the log broken; `audit verify` racing a
checkpoint said "Verification FAILED" the same way. Nothing was wrong with the log: the rows
are now read in the walk's snapshot, and a newer file is taken as signed since only if its row
and its events are there when read again."""

import pytest
from django.db import transaction

from madoguchi.audit import services as audit
from madoguchi.audit import verify

pytestmark = pytest.mark.django_db


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": f"u{i}", "reason": "x"})


def _meanwhile(monkeypatch, action):
    """Run `action` right after the walk's snapshot, before the checkpoints are read (as
    another process would while a long walk runs)."""
    real = verify.verify_chain
    done = []

    def walk(*args, **kwargs):
        result = real(*args, **kwargs)
        if not done:
            done.append(1)
            action()
        return result

    monkeypatch.setattr(verify, "verify_chain", walk)


def _another_checkpoint(monkeypatch):
    def action():
        _record(2)
        monkeypatch.undo()
        audit.write_checkpoint()  # the other process's checkpoint, over the longer log

    return action


def test_two_checkpoints_at_once_both_sign(audit_files, monkeypatch):
    audit.create_checkpoint_key()
    _record(3)
    _meanwhile(monkeypatch, _another_checkpoint(monkeypatch))
    checkpoint = audit.write_checkpoint()  # AuditError: "a log that does not verify"
    assert checkpoint.size >= 3


def test_verify_racing_a_checkpoint_does_not_fail(audit_files, monkeypatch):
    audit.create_checkpoint_key()
    _record(3)
    _meanwhile(monkeypatch, _another_checkpoint(monkeypatch))
    from madoguchi.audit import conf

    report = verify.verify_log(
        verifier_key=audit.checkpoint_verifier_key(),
        skip_checkpoints=False,
        directory=conf.checkpoint_dir(),
    )
    assert report.ok, report.lines


def test_a_checkpoint_file_for_more_events_without_its_row_is_still_events_removed(audit_files):
    """A file is taken as signed since the walk only if its row is in the table and the log
    holds its events when read again: a file alone, signing more events than the log holds,
    still says events were removed."""
    from madoguchi.audit import conf, note

    audit.create_checkpoint_key()
    _record(3)
    key = audit.load_signing_key(conf.key_file())
    text = note.sign(note.Checkpoint(conf.origin(), 9, b"\x01" * 32), conf.key_name(), key)
    conf.checkpoint_dir().mkdir(parents=True, exist_ok=True)
    (conf.checkpoint_dir() / "checkpoint-000000000009.txt").write_text(text, encoding="utf-8")
    report = verify.verify_log(
        verifier_key=audit.checkpoint_verifier_key(),
        skip_checkpoints=False,
        directory=conf.checkpoint_dir(),
    )
    assert not report.ok
    assert report.lines[-1].startswith("checkpoint file ")
    assert (
        "vouches for 9 events but the log holds only 3: events were removed." in (report.lines[-1])
    )


@pytest.mark.django_db(transaction=True)
def test_verify_outside_a_transaction_reads_the_rows_in_the_walks_snapshot(audit_files):
    """Outside a transaction (as the command runs), PostgreSQL's walk and the checkpoint rows
    are one REPEATABLE READ transaction, ended after them."""
    from django.db import connection

    from madoguchi.audit import conf

    audit.create_checkpoint_key()
    _record(3)
    audit.write_checkpoint()
    _record(1)
    report = verify.verify_log(
        verifier_key=audit.checkpoint_verifier_key(),
        skip_checkpoints=False,
        directory=conf.checkpoint_dir(),
    )
    assert report.ok, report.lines
    assert report.lines[-1].startswith("Signed checkpoints match the log: 1 in the database, ")
    assert not connection.in_atomic_block
    assert connection.get_autocommit()
