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
