"""An auditor's check of a proof `madoguchi audit prove` printed (`madoguchi audit check-proof`).

The proof's text says what it claims (the tree's size and root; the event, its leaf index and
leaf hash, or the older size and root) and gives the proof's hashes. The auditor checks it with
the RFC 9162 verifier (`madoguchi.audit.merkle`), with no access to the database, against what
they trust: a signed checkpoint they hold (its size and root, opened with the verifier key), or
a root, size, event or leaf they give. What they give replaces what the text claims, so a proof
for another size, event or root is refused, as is a proof whose hashes were changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from madoguchi.audit import merkle, note

_TREE = re.compile(r"^tree size (\d+), root ([0-9a-fA-F]+)$")
_INCLUSION = re.compile(r"^inclusion of event #(\d+): leaf index (\d+), leaf ([0-9a-fA-F]+)$")
_CONSISTENCY = re.compile(r"^consistency from size (\d+), root ([0-9a-fA-F]+)$")


class Refused(ValueError):
    """The proof does not show what it (or the auditor) claims; the message says why."""


@dataclass
class Claim:
    size: int | None = None
    root: bytes | None = None
    seq: int | None = None
    leaf: bytes | None = None
    old_size: int | None = None
    old_root: bytes | None = None
    proof: list[bytes] = field(default_factory=list)


def _hash(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        raise Refused(f"{what} is not hexadecimal: {text.strip()!r}.") from None
    if len(value) != 32:
        raise Refused(f"{what} is not a SHA-256 hash (32 bytes): {text.strip()!r}.")
    return value


# A count of events has at most 20 digits (64 bits); int() of a longer one is slow, and of more
# than 4,300 digits a ValueError (a traceback, not a refusal).
_MOST_DIGITS = 20


def _number(text: str, what: str) -> int:
    if len(text) > _MOST_DIGITS:
        raise Refused(
            f"{what} has {len(text):,} digits; no log holds that many events (a number of at "
            f"most {_MOST_DIGITS} digits)."
        )
    return int(text)


def parse(text: str) -> Claim:
    """The claim and the proof's hashes in `audit prove`'s output."""
    claim = Claim()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if raw.startswith("  ") and line:
            claim.proof.append(_hash(line, f"Proof line {number}"))
        elif match := _TREE.match(line):
            claim.size = _number(match[1], "The tree size")
            claim.root = _hash(match[2], "The tree's root")
        elif match := _INCLUSION.match(line):
            claim.seq = _number(match[1], "The event number")
            if _number(match[2], "The leaf index") != claim.seq - 1:
                raise Refused(
                    f"Leaf index {match[2]} is not event #{claim.seq}'s (events are numbered "
                    "from 1, leaf indexes from 0)."
                )
            claim.leaf = _hash(match[3], "The event's leaf hash")
        elif match := _CONSISTENCY.match(line):
            claim.old_size = _number(match[1], "The older tree size")
            claim.old_root = _hash(match[2], "The older tree's root")
    if claim.size is None and claim.seq is None and claim.old_size is None and not claim.proof:
        raise Refused(
            "This is not a proof `madoguchi audit prove` printed: none of its lines reads "
            "`tree size N, root …`, an inclusion or consistency line, or a proof's hashes"
            + (" (it is empty)." if not text.strip() else ".")
        )
    return claim


def _open(text: str, verifier_key: str, what: str) -> note.Checkpoint:
    try:
        name, key = note.parse_verifier_key(verifier_key)
        return note.open_note(text, name, key)
    except note.NoteError as exc:
        raise Refused(f"{what} does not open with the verifier key: {exc}") from exc


def check(
    text: str,
    *,
    checkpoint: str = "",
    old_checkpoint: str = "",
    verifier_key: str = "",
    root: str = "",
    old_root: str = "",
    size: int | None = None,
    seq: int | None = None,
    old_size: int | None = None,
    leaf: str = "",
) -> list[str]:
    """Check the proof in ``text``; return the lines saying what it proved, or raise Refused."""
    claim = parse(text)
    trusted = []
    old_root_from = "the proof"  # where the older root came from: the proof, the auditor, a note
    root_bytes: bytes | None
    old_root_bytes: bytes | None
    for given, what in ((checkpoint, "The checkpoint"), (old_checkpoint, "The older checkpoint")):
        if given and not verifier_key:
            raise Refused(f"{what} needs the verifier key (--verifier-key) to be opened.")
    if checkpoint:
        signed = _open(checkpoint, verifier_key, "The checkpoint")
        if size is not None and size != signed.size:
            raise Refused(f"The checkpoint signs a tree of {signed.size} events, not {size}.")
        size, root_bytes = signed.size, signed.root
        trusted.append(f"the signed checkpoint of {signed.size} events ({signed.origin})")
    else:
        root_bytes = _hash(root, "The root you gave") if root else None
    if old_checkpoint:
        signed = _open(old_checkpoint, verifier_key, "The older checkpoint")
        if old_size is not None and old_size != signed.size:
            raise Refused(
                f"The older checkpoint signs a tree of {signed.size} events, not {old_size}."
            )
        old_size, old_root_bytes = signed.size, signed.root
        trusted.append(f"the signed checkpoint of {signed.size} events")
        old_root_from = "a signed checkpoint"
    else:
        old_root_bytes = _hash(old_root, "The older root you gave") if old_root else None
        if old_root:
            old_root_from = "you"
    if root_bytes is None:
        if claim.root is None:
            raise Refused("No tree root: neither in the proof nor given (--root, --checkpoint).")
        root_bytes = claim.root
    if size is None:
        size = claim.size
    if size is None:
        raise Refused("No tree size: neither in the proof nor given (--size).")
    if size < 1:
        raise Refused(f"The tree size must be at least 1, not {size}.")
    if claim.size is not None and claim.size != size:
        raise Refused(f"The proof is for a tree of {claim.size} events, not {size}.")
    if claim.root is not None and claim.root != root_bytes:
        raise Refused(
            f"The proof's root {claim.root.hex()} is not the trusted root {root_bytes.hex()}."
        )
    inclusion = seq is not None or (old_size is None and claim.seq is not None)
    if inclusion:
        seq = seq if seq is not None else claim.seq
        assert seq is not None
        if not 1 <= seq <= size:
            raise Refused(f"Event #{seq} is outside a tree of {size} events (1..{size}).")
        leaf_bytes = _hash(leaf, "The leaf hash you gave") if leaf else claim.leaf
        if leaf_bytes is None:
            raise Refused("No leaf hash: neither in the proof nor given (--leaf).")
        if claim.seq is not None and claim.seq != seq:
            raise Refused(f"The proof is for event #{claim.seq}, not #{seq}.")
        try:
            merkle.verify_inclusion(leaf_bytes, seq - 1, size, claim.proof, root_bytes)
        except merkle.ProofError as exc:
            raise Refused(str(exc)) from exc
        lines = [
            f"Inclusion proof verified: event #{seq} (leaf {leaf_bytes.hex()}) is in the tree "
            f"of {size} events with root {root_bytes.hex()}."
        ]
    else:
        old_size = old_size if old_size is not None else claim.old_size
        if old_size is None:
            raise Refused("The proof claims neither an event (--seq) nor an older size (--from).")
        if not 1 <= old_size <= size:
            raise Refused(f"The older size {old_size} is outside 1..{size}.")
        if claim.old_size is not None and claim.old_size != old_size:
            raise Refused(f"The proof is from a tree of {claim.old_size} events, not {old_size}.")
        if old_root_bytes is None:
            old_root_bytes = claim.old_root
        if old_root_bytes is None:
            raise Refused("No older root: neither in the proof nor given (--old-root).")
        if claim.old_root is not None and claim.old_root != old_root_bytes:
            raise Refused(
                f"The proof's older root {claim.old_root.hex()} is not the trusted one "
                f"{old_root_bytes.hex()}."
            )
        try:
            merkle.verify_consistency(old_size, size, old_root_bytes, root_bytes, claim.proof)
        except merkle.ProofError as exc:
            raise Refused(str(exc)) from exc
        lines = [
            f"Consistency proof verified: the tree of {size} events (root {root_bytes.hex()}) "
            f"extends the tree of {old_size} events (root {old_root_bytes.hex()})."
        ]
    if checkpoint:
        lines.append("Against " + " and ".join(trusted) + ".")
    else:
        # A signed older checkpoint alone vouches for the older tree, not this one.
        lines.append(
            "Against the root as given, not a signed checkpoint: compare it with one "
            "(--checkpoint) to know the log's operator signed that tree."
            + (f" The older tree: against {trusted[0]}." if trusted else "")
        )
    if not inclusion and old_root_from != "a signed checkpoint":
        # What the proof (the log's operator) claims, or a root the auditor gave: proven only
        # to be extended by the tree above, not to be a tree the operator signed.
        given = "as the proof claims it" if old_root_from == "the proof" else "as given"
        lines.append(
            f"The older tree's root was only {given}, not a signed checkpoint: compare it "
            "with the older checkpoint (--old-checkpoint) to know the log's operator signed "
            "that tree."
        )
    return lines
