"""`madoguchi audit check-proof`: an auditor checks a proof `prove` printed, with the RFC 9162
verifier, against a signed checkpoint or a root they trust; a changed proof, another size, an
event outside the tree are refused with the reason."""

from __future__ import annotations

import io
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from madoguchi.audit import conf, proofcheck
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditCheckpoint
from tests.audit.test_merkle import CONSISTENCY, INCLUSION, LEAVES, ROOTS
from tests.oddfiles import odd_files, written


def _inclusion_text(index: int, size: int, proof: list[str]) -> str:
    return (
        f"tree size {size}, root {ROOTS[size].hex()}\n"
        f"inclusion of event #{index + 1}: leaf index {index}, leaf {LEAVES[index].hex()}\n"
        f"proof ({len(proof)} hashes, verified):\n" + "".join(f"  {h}\n" for h in proof)
    )


def _consistency_text(old: int, size: int, proof: list[str]) -> str:
    return (
        f"tree size {size}, root {ROOTS[size].hex()}\n"
        f"consistency from size {old}, root {ROOTS[old].hex()}\n"
        f"proof ({len(proof)} hashes, verified):\n" + "".join(f"  {h}\n" for h in proof)
    )


def _flipped(proof: list[str], i: int) -> list[str]:
    changed = bytearray(bytes.fromhex(proof[i]))
    changed[0] ^= 8
    return [*proof[:i], changed.hex(), *proof[i + 1 :]]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_the_published_inclusion_vectors_pass_and_every_changed_hash_is_refused(index, size, proof):
    lines = proofcheck.check(_inclusion_text(index, size, proof))
    assert lines[0].startswith(f"Inclusion proof verified: event #{index + 1} ")
    for i in range(len(proof)):
        with pytest.raises(proofcheck.Refused, match="does not lead to the expected root"):
            proofcheck.check(_inclusion_text(index, size, _flipped(proof, i)))
    with pytest.raises(proofcheck.Refused, match="shorter than the tree is deep"):
        proofcheck.check(_inclusion_text(index, size, proof[:-1]))
    with pytest.raises(proofcheck.Refused, match="longer than the tree is deep"):
        proofcheck.check(_inclusion_text(index, size, [*proof, ROOTS[size].hex()]))


@pytest.mark.parametrize(("old", "size", "proof"), [c for c in CONSISTENCY if c[2]])
def test_the_published_consistency_vectors_pass_and_every_changed_hash_is_refused(old, size, proof):
    assert proofcheck.check(_consistency_text(old, size, proof))[0].startswith(
        f"Consistency proof verified: the tree of {size} events "
    )
    refusals = [
        _refusal(_consistency_text(old, size, changed))
        for changed in [*(_flipped(proof, i) for i in range(len(proof))), proof[:-1]]
    ]
    assert all(r.startswith("The consistency proof ") for r in refusals), refusals


def _refusal(text: str) -> str:
    with pytest.raises(proofcheck.Refused) as refused:
        proofcheck.check(text)
    return str(refused.value)


def test_a_wrong_size_an_event_outside_the_tree_and_another_root_are_refused():
    index, size, proof = INCLUSION[0]  # leaf 0 of 8
    text = _inclusion_text(index, size, proof)
    with pytest.raises(proofcheck.Refused, match=r"^The proof is for a tree of 8 events, not 7"):
        proofcheck.check(text, size=7)
    with pytest.raises(proofcheck.Refused, match=r"^Event #9 is outside a tree of 8 events"):
        proofcheck.check(text, seq=9)
    with pytest.raises(proofcheck.Refused, match=r"^Event #0 is outside"):
        proofcheck.check(text, seq=0)
    with pytest.raises(proofcheck.Refused, match=r"^The proof is for event #1, not #2"):
        proofcheck.check(text, seq=2)
    with pytest.raises(proofcheck.Refused, match="is not the trusted root"):
        proofcheck.check(text, root=ROOTS[7].hex())
    with pytest.raises(proofcheck.Refused, match="does not lead to the expected root"):
        proofcheck.check(text, leaf=LEAVES[1].hex())
    # The text's own claims, changed together, still do not make a proof of another size.
    changed = text.replace(
        "tree size 8, root " + ROOTS[8].hex(), "tree size 7, root " + ROOTS[7].hex()
    )
    with pytest.raises(proofcheck.Refused, match=r"longer than the tree is deep|expected root"):
        proofcheck.check(changed)
    with pytest.raises(proofcheck.Refused, match="is not a SHA-256 hash"):
        proofcheck.check(text + "  abcd\n")
    with pytest.raises(proofcheck.Refused, match="No tree root"):
        proofcheck.check("  " + "00" * 32 + "\n")


def _log(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"n": i})


def _run(*args: str, stdin: str | None = None, monkeypatch=None) -> str:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_an_auditor_checks_a_printed_proof_against_the_signed_checkpoint(tmp_path, monkeypatch):
    call_command("audit", "keygen", stdout=io.StringIO())
    _log(5)
    _run("checkpoint")
    _log(2)
    _run("checkpoint")
    key = audit.checkpoint_verifier_key()
    small, big = AuditCheckpoint.objects.order_by("size").values_list("size", flat=True)
    assert small == 5  # the first checkpoint's own event comes after it
    old, new = (conf.checkpoint_dir() / f"checkpoint-{n:012d}.txt" for n in (small, big))
    inclusion = tmp_path / "inclusion.txt"
    inclusion.write_text(_run("prove", "--seq", "3"))
    out = _run("check-proof", str(inclusion), "--checkpoint", str(new), "--verifier-key", key)
    assert out.startswith("Inclusion proof verified: event #3 ")
    assert f"Against the signed checkpoint of {big} events" in out
    # Read from standard input, against the root it states.
    out = _run("check-proof", stdin=inclusion.read_text(), monkeypatch=monkeypatch)
    assert "Against the root as given, not a signed checkpoint" in out
    # A checkpoint of another size.
    with pytest.raises(
        CommandError, match=f"^Proof refused: The proof is for a tree of {big} events, not 5"
    ):
        _run("check-proof", str(inclusion), "--checkpoint", str(old), "--verifier-key", key)
    # One hash of the proof changed.
    lines = inclusion.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  "))
    lines[first] = "  " + ("0" if lines[first][2] != "0" else "1") + lines[first][3:]
    tampered = tmp_path / "tampered.txt"
    tampered.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as refused:
        _run("check-proof", str(tampered), "--checkpoint", str(new), "--verifier-key", key)
    assert str(refused.value) == (
        "Proof refused: The inclusion proof does not lead to the expected root."
    )
    assert refused.value.returncode == 1
    # Consistency of the two checkpoints.
    consistency = tmp_path / "consistency.txt"
    consistency.write_text(_run("prove", "--from", "5"))
    out = _run(
        "check-proof",
        str(consistency),
        "--checkpoint",
        str(new),
        "--old-checkpoint",
        str(old),
        "--verifier-key",
        key,
    )
    assert out.startswith(f"Consistency proof verified: the tree of {big} events ")
    # A checkpoint not signed by the key given.
    other = tmp_path / "other.pem"
    other_key = audit.checkpoint_verifier_key(path=audit.create_checkpoint_key(path=other))
    with pytest.raises(CommandError, match="does not open with the verifier key"):
        _run("check-proof", str(inclusion), "--checkpoint", str(new), "--verifier-key", other_key)


@odd_files("proof file")
def test_an_odd_proof_or_checkpoint_file_is_one_line_saying_why(tmp_path, make, says):
    """A binary or Shift_JIS file was a UnicodeDecodeError's traceback, /dev/zero was read until
    memory ran out; as the other commands' files (round 3), each is now one line saying why."""
    path = str(make(tmp_path))
    with pytest.raises(CommandError, match=says):
        _run("check-proof", path)
    proof = written(tmp_path / "proof.txt", _inclusion_text(*INCLUSION[0]).encode())
    with pytest.raises(CommandError, match=says.replace("proof file", "checkpoint file")):
        _run("check-proof", str(proof), "--checkpoint", path, "--verifier-key", "k+1+a")


def test_odd_bytes_on_standard_input_are_one_line_saying_why(monkeypatch):
    for data, says in (
        ("木の根".encode("shift_jis"), "not UTF-8 text"),
        (b"a" * 1_000_001, "larger than 1,000,000 bytes"),
    ):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        with pytest.raises(CommandError, match=f"The proof on standard input is {says}"):
            _run("check-proof")


@pytest.mark.parametrize(
    ("text", "ending"),
    [("", " (it is empty)."), ("\n\n", " (it is empty)."), ("a note to the auditor\n", ".")],
    ids=["nothing", "blank-lines", "prose"],
)
def test_a_text_that_is_no_proof_is_said_to_be_none(monkeypatch, text, ending):
    """Nothing on standard input (a pipe from a command that failed) or a text that is not
    `prove`'s output was refused as a proof with no root, as if a --root were missing."""
    with pytest.raises(CommandError) as refused:
        _run("check-proof", stdin=text, monkeypatch=monkeypatch)
    assert str(refused.value) == (
        "Proof refused: This is not a proof `madoguchi audit prove` printed: none of its lines "
        "reads `tree size N, root …`, an inclusion or consistency line, or a proof's hashes"
        + ending
    )
    assert refused.value.returncode == 1
