"""What an auditor may be handed: a proof or checkpoint with a number of thousands of digits
(a traceback: int() refuses more than 4,300), a checkpoint saved with CRLF line ends (refused
as having "no blank line"), and a consistency proof checked against the newer checkpoint only
(the older root was taken from the proof without a word)."""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import transaction

from madoguchi.audit import conf, note, proofcheck
from madoguchi.audit import services as audit
from tests.audit.test_check_proof import _inclusion_text
from tests.audit.test_merkle import CONSISTENCY, INCLUSION, LEAVES, ROOTS

HUGE = "9" * 5000


def _inclusion(size: str = "8", seq: str = "1", index: str = "0") -> str:
    return (
        f"tree size {size}, root {ROOTS[8].hex()}\n"
        f"inclusion of event #{seq}: leaf index {index}, leaf {LEAVES[0].hex()}\n"
        "proof (0 hashes, verified):\n"
    )


def _consistency() -> tuple[int, int, str]:
    old, size, proof = next(c for c in CONSISTENCY if c[2] and c[0] > 1)
    text = (
        f"tree size {size}, root {ROOTS[size].hex()}\n"
        f"consistency from size {old}, root {ROOTS[old].hex()}\n"
        f"proof ({len(proof)} hashes, verified):\n" + "".join(f"  {h}\n" for h in proof)
    )
    return old, size, text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (_inclusion(size=HUGE), "The tree size has 5,000 digits"),
        (_inclusion(seq=HUGE), "The event number has 5,000 digits"),
        (_inclusion(index=HUGE), "The leaf index has 5,000 digits"),
        (
            f"tree size 8, root {ROOTS[8].hex()}\nconsistency from size {HUGE}, root "
            f"{ROOTS[4].hex()}\nproof (0 hashes, verified):\n",
            "The older tree size has 5,000 digits",
        ),
    ],
    ids=["tree-size", "event", "leaf-index", "older-size"],
)
def test_a_number_of_thousands_of_digits_is_one_refusal(tmp_path, text, says):
    proof = tmp_path / "proof.txt"
    proof.write_text(text)
    with pytest.raises(CommandError) as refused:
        call_command("audit", "check-proof", str(proof), stdout=io.StringIO())
    assert str(refused.value) == (
        f"Proof refused: {says}; no log holds that many events (a number of at most 20 digits)."
    )


@pytest.mark.parametrize(
    "size", [HUGE, "\u00b2", "\u0661"], ids=["5000-digits", "superscript", "arabic-indic"]
)
def test_a_checkpoint_whose_size_is_no_count_is_refused_not_a_traceback(size):
    key = Ed25519PrivateKey.generate()
    text = note.sign(note.Checkpoint("o/audit", 8, ROOTS[8]), "o/audit", key)
    with pytest.raises(note.NoteError, match="is not a decimal number of at most 20 digits"):
        note.open_note(text.replace("\n8\n", f"\n{size}\n"), "o/audit", key.public_key())


@pytest.mark.django_db
def test_verify_names_a_checkpoint_file_with_a_huge_size(audit_files):
    audit.create_checkpoint_key()
    with transaction.atomic():
        audit.record("accounts.sign_in_failed", payload={"username": "u", "reason": "x"})
    audit.write_checkpoint()
    path = conf.checkpoint_dir() / "checkpoint-000000000099.txt"
    path.write_text(f"{conf.origin()}\n{HUGE}\nAAAA\n\n")
    with pytest.raises(CommandError) as refused:
        call_command("audit", "verify", stdout=io.StringIO())
    assert str(refused.value) == (
        f"checkpoint file {path} does not verify: The checkpoint size '99999999999999999999… "
        "(5,000 characters)' is not a decimal number of at most 20 digits."
    )


def test_a_consistency_proof_against_the_newer_checkpoint_says_the_older_root_was_claimed():
    old, size, text = _consistency()
    key = Ed25519PrivateKey.generate()
    checkpoint = note.sign(note.Checkpoint("o/audit", size, ROOTS[size]), "o/audit", key)
    verifier = note.verifier_key("o/audit", key.public_key())
    lines = proofcheck.check(text, checkpoint=checkpoint, verifier_key=verifier)
    assert lines[1:] == [
        f"Against the signed checkpoint of {size} events (o/audit).",
        "The older tree's root was only as the proof claims it, not a signed checkpoint: "
        "compare it with the older checkpoint (--old-checkpoint) to know the log's operator "
        "signed that tree.",
    ]
    # Both checkpoints: nothing is only as claimed.
    older = note.sign(note.Checkpoint("o/audit", old, ROOTS[old]), "o/audit", key)
    lines = proofcheck.check(
        text, checkpoint=checkpoint, old_checkpoint=older, verifier_key=verifier
    )
    assert lines[1:] == [
        f"Against the signed checkpoint of {size} events (o/audit) and the signed checkpoint "
        f"of {old} events."
    ]
    # The older checkpoint alone: the newer root is the one only as given.
    lines = proofcheck.check(text, old_checkpoint=older, verifier_key=verifier)
    assert lines[1:] == [
        "Against the root as given, not a signed checkpoint: compare it with one "
        "(--checkpoint) to know the log's operator signed that tree. The older tree: against "
        f"the signed checkpoint of {old} events."
    ]
    # An older root the auditor gave is "as given".
    lines = proofcheck.check(
        text, checkpoint=checkpoint, verifier_key=verifier, old_root=ROOTS[old].hex()
    )
    assert lines[-1].startswith("The older tree's root was only as given, not a signed checkpoint")


def test_a_checkpoint_saved_with_crlf_line_ends_opens():
    key = Ed25519PrivateKey.generate()
    signed = note.sign(note.Checkpoint("o/audit", 8, ROOTS[8]), "o/audit", key)
    crlf = signed.replace("\n", "\r\n")
    assert note.open_note(crlf, "o/audit", key.public_key()) == note.Checkpoint(
        "o/audit", 8, ROOTS[8]
    )
    # Mixed line ends, or a carriage return inside a line, are said as such.
    for odd in (signed.replace("\n", "\r\n", 1), signed.replace("o/audit\n", "o/audit\r\r\n", 1)):
        with pytest.raises(note.NoteError, match="mixes CRLF and LF line ends"):
            note.open_note(odd, "o/audit", key.public_key())


def test_check_proof_against_a_crlf_checkpoint_file(tmp_path):
    index, size, hashes = INCLUSION[0]
    key = Ed25519PrivateKey.generate()
    signed = note.sign(note.Checkpoint("o/audit", size, ROOTS[size]), "o/audit", key)
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_bytes(signed.replace("\n", "\r\n").encode())
    proof = tmp_path / "proof.txt"
    proof.write_text(_inclusion_text(index, size, hashes))
    out = io.StringIO()
    call_command(
        "audit",
        "check-proof",
        str(proof),
        "--checkpoint",
        str(checkpoint),
        "--verifier-key",
        note.verifier_key("o/audit", key.public_key()),
        stdout=out,
    )
    assert (
        out.getvalue().splitlines()[1]
        == f"Against the signed checkpoint of {size} events (o/audit)."
    )
