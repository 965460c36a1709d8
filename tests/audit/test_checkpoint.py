"""Signed checkpoints: written to the table and a file, signature and root verify, consistent
with later trees."""

import base64
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from madoguchi.audit import merkle, note
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditCheckpoint, AuditEvent

pytestmark = pytest.mark.django_db


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": f"u{i}", "reason": "x"})


def _leaves() -> list[bytes]:
    return [bytes.fromhex(h) for h in AuditEvent.objects.values_list("leaf_hash", flat=True)]


def test_checkpoint_round_trip(audit_files):
    audit.create_checkpoint_key()
    _record(5)
    checkpoint = audit.write_checkpoint()

    assert checkpoint.size == 5
    leaves = _leaves()
    assert checkpoint.root_hash == merkle.root(leaves[:5]).hex()
    # The same signed note is in the table and in a file outside the database.
    path = audit_files / "checkpoints" / "checkpoint-000000000005.txt"
    assert path.read_text() == checkpoint.note
    lines = checkpoint.note.split("\n")
    assert lines[:3] == [
        "test.madoguchi.local/audit",
        "5",
        base64.b64encode(bytes.fromhex(checkpoint.root_hash)).decode(),
    ]
    assert lines[3] == ""
    assert lines[4].startswith("\u2014 test.madoguchi.local/audit ")

    name, public_key = note.parse_verifier_key(audit.checkpoint_verifier_key())
    opened = note.open_note(path.read_text(), name, public_key)
    assert (opened.origin, opened.size, opened.root.hex()) == (
        "test.madoguchi.local/audit",
        5,
        checkpoint.root_hash,
    )

    # Writing the checkpoint is itself an audited event, outside the tree it signs.
    event = AuditEvent.objects.get(seq=6)
    assert event.event_name == "audit.checkpoint_written"
    assert event.payload == {"size": 5, "root": checkpoint.root_hash, "file": path.name}
    assert (event.subject_type, event.subject_id) == ("audit.auditcheckpoint", str(checkpoint.pk))

    # Later trees are provably extensions of the checkpointed one.
    _record(3)
    leaves = _leaves()
    new_root = merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, 5)
    merkle.verify_consistency(5, len(leaves), opened.root, new_root, proof)
    for index in range(5):
        merkle.verify_inclusion(
            leaves[index], index, 5, merkle.inclusion_proof(leaves[:5], index), opened.root
        )

    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "Signed checkpoints match the log: 1 in the database, 1 in files" in out.getvalue()


def test_checkpoint_needs_a_key():
    _record(1)
    with pytest.raises(audit.AuditError, match="audit keygen"):
        audit.write_checkpoint()
    assert not AuditCheckpoint.objects.exists()


def test_keygen_refuses_to_replace_a_key(audit_files):
    path = audit.create_checkpoint_key()
    assert path.stat().st_mode & 0o777 == 0o600
    before = path.read_bytes()
    with pytest.raises(audit.AuditError, match="refusing to replace"):
        audit.create_checkpoint_key()
    assert path.read_bytes() == before


def test_checkpoint_with_another_key_fails_verification(audit_files):
    audit.create_checkpoint_key()
    _record(2)
    audit.write_checkpoint()
    other = note.load_private_key_pem(note.generate_private_key_pem())
    with pytest.raises(CommandError, match="does not verify") as excinfo:
        call_command(
            "audit",
            "verify",
            "--verifier-key",
            note.verifier_key("test.madoguchi.local/audit", other.public_key()),
            stdout=io.StringIO(),
        )
    assert excinfo.value.returncode == 1


def test_edited_checkpoint_file_fails_verification(audit_files):
    audit.create_checkpoint_key()
    _record(2)
    audit.write_checkpoint()
    path = audit_files / "checkpoints" / "checkpoint-000000000002.txt"
    path.write_text(path.read_text().replace("\n2\n", "\n1\n", 1))
    with pytest.raises(CommandError, match="does not verify"):
        call_command("audit", "verify", stdout=io.StringIO())


def test_checkpoint_command_prints_the_note(audit_files):
    call_command("audit", "keygen", stdout=io.StringIO())
    _record(1)
    out = io.StringIO()
    call_command("audit", "checkpoint", stdout=out)
    assert "Checkpoint written for 1 events" in out.getvalue()
    assert out.getvalue().endswith(AuditCheckpoint.objects.get().note)


def test_check_deploy_warns_when_checkpoints_cannot_be_signed(settings, tmp_path):
    """Without the key every scheduled `audit checkpoint` failed, and nothing said so before."""
    from django.core.checks.registry import registry

    from madoguchi.audit import services as audit_services
    from madoguchi.audit.checks import checkpoint_key_usable

    assert checkpoint_key_usable in registry.deployment_checks
    settings.AUDIT_CHECKPOINT_KEY_FILE = tmp_path / "keys" / "audit.pem"
    [warning] = checkpoint_key_usable()
    assert warning.id == "madoguchi.W110"
    assert warning.msg.startswith("The audit log's checkpoints cannot be signed: No checkpoint")
    assert "madoguchi audit keygen" in warning.hint
    audit_services.create_checkpoint_key()
    assert checkpoint_key_usable() == []
    settings.AUDIT_CHECKPOINT_KEY_FILE.write_bytes(b"not a key")
    [warning] = checkpoint_key_usable()
    assert "cannot be used" in warning.msg
