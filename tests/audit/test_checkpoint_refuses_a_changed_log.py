"""`audit checkpoint` signs only a log that `audit verify` passes (the chain and every signed
checkpoint, in the table and in files), and never replaces a checkpoint file: an hourly
checkpoint signed over a cut log, and put its file in place of the one that showed the cut."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from madoguchi.audit import merkle, triggers
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditCheckpoint
from tests.audit.test_verify import _constraints_restored, _record_events, _tamper  # noqa: F401


def _checkpoint() -> None:
    call_command("audit", "checkpoint", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_checkpoint_refuses_a_cut_log_and_keeps_the_file_that_shows_it(audit_files):
    call_command("audit", "keygen", stdout=io.StringIO())
    _record_events(3)
    _checkpoint()  # size 3; event 4 records it
    path = audit_files / "checkpoints" / "checkpoint-000000000003.txt"
    evidence = path.read_text()

    _tamper("DELETE FROM audit_auditevent WHERE seq >= %s", [2])  # the log cut to 1 event
    with pytest.raises(CommandError, match="vouches for 3 events"):
        call_command("audit", "verify", stdout=io.StringIO())
    with pytest.raises(CommandError) as refused:
        _checkpoint()
    assert str(refused.value).startswith(
        "Refusing to sign a checkpoint over a log that does not verify (as `madoguchi audit "
        "verify` says): checkpoint row"
    )
    assert "vouches for 3 events but the log holds only 1" in str(refused.value)

    _record_events(2)  # the desk goes on: the log is 3 events long again, other events
    with pytest.raises(CommandError, match=r"events 1\.\.3 do not match the signed checkpoint"):
        _checkpoint()
    assert path.read_text() == evidence
    assert AuditCheckpoint.objects.count() == 1
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


@pytest.mark.django_db(transaction=True)
def test_checkpoint_refuses_when_only_the_file_outside_the_database_shows_the_cut(audit_files):
    """The owner deletes the events and the checkpoint rows too: the file still disagrees."""
    call_command("audit", "keygen", stdout=io.StringIO())
    _record_events(3)
    _checkpoint()
    path = audit_files / "checkpoints" / "checkpoint-000000000003.txt"
    evidence = path.read_text()
    _tamper("DELETE FROM audit_auditevent WHERE seq >= %s", [2])
    with triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
    _record_events(2)
    with pytest.raises(
        CommandError, match=re.escape(f"checkpoint file {path}: events 1..3 do not match")
    ):
        _checkpoint()
    assert path.read_text() == evidence
    assert not AuditCheckpoint.objects.exists()


@pytest.mark.django_db  # the imported autouse fixture reads the database after each test
def test_a_checkpoint_file_is_never_replaced(tmp_path):
    target = audit._write_checkpoint_file(tmp_path, 7, "signed once\n")
    assert target.name == "checkpoint-000000000007.txt"
    # The same note again (the same size and root signed after a failed run): left as it is.
    assert audit._write_checkpoint_file(tmp_path, 7, "signed once\n") == target
    with pytest.raises(audit.AuditError) as refused:
        audit._write_checkpoint_file(tmp_path, 7, "signed again, other root\n")
    assert str(refused.value).startswith(
        f"A different signed checkpoint for 7 events is already at {target}; refusing to replace it"
    )
    assert target.read_text() == "signed once\n"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


@pytest.mark.django_db
def test_checkpoints_follow_one_another_on_an_intact_log(audit_files):
    audit.create_checkpoint_key()
    _record_events(2)
    for _ in range(3):
        _checkpoint()
    assert list(AuditCheckpoint.objects.order_by("size").values_list("size", flat=True)) == [
        2,
        3,
        4,
    ]
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "Signed checkpoints match the log: 3 in the database, 3 in files" in out.getvalue()


@pytest.mark.django_db
def test_prefix_roots_are_the_roots_of_each_prefix():
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(70)]
    sizes = set(range(71))
    roots = merkle.prefix_roots(leaves, sizes)
    assert roots == {n: merkle.root(leaves[:n]) for n in sizes}
    assert merkle.prefix_roots(leaves, {5, 64}) == {5: roots[5], 64: roots[64]}
