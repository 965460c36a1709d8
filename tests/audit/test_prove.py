"""`madoguchi audit prove`: inclusion and consistency proofs over the stored log, checked with
the RFC 9162 verifier (itself tested against the transparency-dev/merkle vectors)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from madoguchi.audit import merkle
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditCheckpoint, AuditEvent


def _log(n: int) -> list[bytes]:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"n": i})
    return [bytes.fromhex(e.leaf_hash) for e in AuditEvent.objects.order_by("seq")]


def _prove(*args: str) -> tuple[bytes, list[bytes]]:
    out = io.StringIO()
    call_command("audit", "prove", *args, stdout=out)
    lines = out.getvalue().splitlines()
    root = bytes.fromhex(lines[0].split("root ")[1])
    proof = [bytes.fromhex(line.strip()) for line in lines if line.startswith("  ")]
    return root, proof


@pytest.mark.django_db
def test_inclusion_proof_of_an_event_verifies_against_the_root():
    leaves = _log(7)
    root, proof = _prove("--seq", "3", "--size", "6")
    assert root == merkle.root(leaves[:6])
    merkle.verify_inclusion(leaves[2], 2, 6, proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(leaves[3], 2, 6, proof, root)


@pytest.mark.django_db
def test_consistency_proof_between_two_sizes_verifies():
    leaves = _log(7)
    root, proof = _prove("--from", "3", "--size", "7")
    merkle.verify_consistency(3, 7, merkle.root(leaves[:3]), root, proof)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(4, 7, merkle.root(leaves[:4]), root, proof)


@pytest.mark.django_db
def test_out_of_range_requests_are_refused_with_a_reason():
    _log(2)
    with pytest.raises(CommandError, match=r"--seq must be 1\.\.2"):
        call_command("audit", "prove", "--seq", "5", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--size must be"):
        call_command("audit", "prove", "--from", "1", "--size", "9", stdout=io.StringIO())


@pytest.mark.django_db
def test_an_event_after_the_newest_checkpoint_is_refused_with_the_way_forward():
    """Without --size the proof is over the newest signed checkpoint; an event appended since
    is in the log, so the refusal says so and how to prove it."""
    call_command("audit", "keygen", stdout=io.StringIO())
    _log(2)
    call_command("audit", "checkpoint", stdout=io.StringIO())
    signed = AuditCheckpoint.objects.get().size
    leaves = _log(3)
    n = len(leaves)
    with pytest.raises(CommandError) as refused:
        call_command("audit", "prove", "--seq", str(n), stdout=io.StringIO())
    message = str(refused.value)
    assert message.startswith(f"--seq must be 1..{signed} ")
    assert f"covers events 1..{signed}; the log holds {n}" in message
    assert "madoguchi audit checkpoint" in message
    assert f"--size {n}" in message
    with pytest.raises(CommandError, match="audit checkpoint"):
        call_command("audit", "prove", "--from", str(n), stdout=io.StringIO())
    # Beyond the whole log there is no way forward to offer.
    with pytest.raises(CommandError) as refused:
        call_command("audit", "prove", "--seq", str(n + 5), stdout=io.StringIO())
    assert "checkpoint" not in str(refused.value)
    root, proof = _prove("--seq", str(n), "--size", str(n))
    merkle.verify_inclusion(leaves[n - 1], n - 1, n, proof, root)


def _refused(*args: str) -> tuple[CommandError, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("audit", "prove", *args, stdout=out)
    return refused.value, out.getvalue()


@pytest.mark.django_db
def test_an_empty_log_and_a_size_of_zero_are_refused_before_anything_is_printed():
    """`--size 0` was taken as "no size given" and proved over the newest checkpoint; a bad
    argument printed the tree's root before its refusal; an empty log asked for --size 1..0."""
    refused, out = _refused("--seq", "1")
    assert str(refused) == "The audit log is empty: there is no event to prove yet."
    assert out == ""
    _log(3)
    for args, sentence in [
        (("--seq", "1", "--size", "0"), "--size must be 1..3 (the log holds 3)."),
        (("--from", "1", "--size", "0"), "--size must be 1..3 (the log holds 3)."),
        (("--seq", "4"), "--seq must be 1..3."),
        (("--seq", "0"), "--seq must be 1..3."),
        (("--from", "0"), "--from must be 1..3."),
        (("--from", "3", "--size", "2"), "--from must be 1..2."),
    ]:
        refused, out = _refused(*args)
        assert str(refused) == sentence
        assert out == "", args


def _suspended_triggers(sql: str, params: list) -> None:
    from django.db import connection

    from madoguchi.audit import timeorder, triggers

    with triggers.suspended(connection), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # an event's removal, refused by its foreign key
            for statement in timeorder.drop_sql():
                cursor.execute(statement)
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_no_proof_over_a_log_cut_below_or_rewritten_under_its_signed_checkpoint(audit_files):
    """A proof over a log that no longer matches its signed checkpoint proves the wrong tree:
    `audit prove` refuses (exit 1) and says what broke, as `audit verify` does."""
    call_command("audit", "keygen", stdout=io.StringIO())
    _log(4)
    call_command("audit", "checkpoint", stdout=io.StringIO())
    signed = AuditCheckpoint.objects.get()
    _suspended_triggers("DELETE FROM audit_auditevent WHERE seq >= %s", [3])
    refused, out = _refused("--seq", "1")
    assert refused.returncode == 1
    assert str(refused).startswith(
        f"checkpoint row {signed.pk} (size {signed.size}) vouches for {signed.size} events but "
        "the log holds only 2: events were removed."
    )
    assert str(refused).endswith("No proof is given over a log that does not verify.")
    assert out == ""
    _log(4)  # the log grows past the checkpoint again, with other events
    refused, out = _refused("--seq", "1", "--size", "6")
    assert refused.returncode == 1
    assert str(refused).startswith(
        f"checkpoint row {signed.pk} (size {signed.size}): events 1..{signed.size} do not match "
        "the signed checkpoint: the log was rewritten."
    )
    assert out == ""


@pytest.mark.django_db
def test_a_broken_chain_gives_no_proof_and_names_the_event():
    _log(3)
    _suspended_triggers("DELETE FROM audit_auditevent WHERE seq = %s", [2])
    refused, out = _refused("--seq", "1", "--size", "1")
    assert refused.returncode == 1
    assert "sequence number 2" in str(refused)
    assert str(refused).endswith("No proof is given over a log that does not verify.")
    assert out == ""


@pytest.mark.django_db
def test_prove_checks_the_checkpoints_as_verify_does(audit_files, settings):
    """`audit prove` checked only the checkpoint rows' unsigned root column, beside the rule
    `audit verify` follows: a log cut after its checkpoint row was deleted too was proved, though
    the signed checkpoint file outside the database still vouched for the removed events. Both
    now follow one rule (`verify_log`): the same refusal, and the same need for the key."""
    call_command("audit", "keygen", stdout=io.StringIO())
    _log(4)
    call_command("audit", "checkpoint", stdout=io.StringIO())
    _suspended_triggers("DELETE FROM audit_auditcheckpoint", [])
    _suspended_triggers("DELETE FROM audit_auditevent WHERE seq >= %s", [3])
    with pytest.raises(CommandError) as verified:
        call_command("audit", "verify", stdout=io.StringIO())
    refused, out = _refused("--seq", "1", "--size", "2")
    assert refused.returncode == 1
    assert str(refused).startswith(str(verified.value))
    assert "checkpoint file" in str(refused)
    assert "events were removed" in str(refused)
    assert out == ""
    # Without the key, checkpoints on record cannot be checked: no proof, as no verification.
    settings.AUDIT_CHECKPOINT_KEY_FILE = audit_files / "no-such-key.pem"
    settings.AUDIT_CHECKPOINT_VERIFIER_KEY = ""
    refused, out = _refused("--seq", "1", "--size", "2")
    assert "no verifier key is configured" in str(refused)


@pytest.mark.django_db
def test_a_checkpoint_over_the_empty_log_sends_the_proof_to_a_new_checkpoint(tmp_path, settings):
    """A city's first `audit checkpoint` before any event signs the empty tree; `prove --seq 1`
    then asked for a --size nobody had given ("--size must be 1..1")."""
    settings.AUDIT_CHECKPOINT_KEY_FILE = tmp_path / "audit.pem"
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    call_command("audit", "keygen", stdout=io.StringIO())
    call_command("audit", "checkpoint", stdout=io.StringIO())
    assert AuditCheckpoint.objects.get().size == 0
    held = AuditEvent.objects.count()
    assert held >= 1  # the checkpoint's own event
    refused, out = _refused("--seq", "1")
    assert str(refused) == (
        f"The newest signed checkpoint covers no event; the log holds {held}: run "
        f"`madoguchi audit checkpoint` first, or give --size {held}."
    )
    assert out == ""
    root, _proof = _prove("--seq", "1", "--size", str(held))
    assert root
