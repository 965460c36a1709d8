"""Recompute the audit log's leaves and chain, and check signed checkpoints against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import conf, merkle, note
from .canonical import GENESIS, CanonicalError, chain_hash, event_leaf_hash
from .models import AuditCheckpoint, AuditEvent


@dataclass
class VerifyResult:
    ok: bool
    size: int
    message: str
    first_bad_seq: int | None = None
    head: bytes = GENESIS
    leaves: list[bytes] = field(default_factory=list, repr=False)


def verify_chain(using: str = "default", *, keep_leaves: bool = False) -> VerifyResult:
    """Walk the log in seq order; stop at the first row whose seq, leaf or chain is wrong."""
    previous = GENESIS
    expected_seq = 1
    leaves: list[bytes] = []
    rows = AuditEvent.objects.using(using).order_by("seq").iterator(chunk_size=2000)
    for row in rows:
        if row.seq != expected_seq:
            return VerifyResult(
                False,
                expected_seq - 1,
                f"Audit log broken at sequence number {expected_seq}: the row is missing "
                f"(next row found is {row.seq}).",
                expected_seq,
                previous,
                leaves,
            )
        try:
            leaf = event_leaf_hash(row.as_record())
        except CanonicalError as exc:
            return VerifyResult(
                False,
                row.seq - 1,
                f"Audit log broken at sequence number {row.seq}: the row cannot be put in "
                f"canonical form ({exc}).",
                row.seq,
                previous,
                leaves,
            )
        if leaf.hex() != row.leaf_hash:
            return VerifyResult(
                False,
                row.seq - 1,
                f"Audit log broken at sequence number {row.seq}: its contents do not match its "
                "leaf hash (the row was changed after it was written).",
                row.seq,
                previous,
                leaves,
            )
        chained = chain_hash(previous, leaf)
        if chained.hex() != row.chain_hash:
            return VerifyResult(
                False,
                row.seq - 1,
                f"Audit log broken at sequence number {row.seq}: its chain hash does not follow "
                "from the previous row (rows were changed, inserted or removed).",
                row.seq,
                previous,
                leaves,
            )
        if keep_leaves:
            leaves.append(leaf)
        previous = chained
        expected_seq += 1
    size = expected_seq - 1
    return VerifyResult(
        True,
        size,
        f"Audit log intact: {size} events, chain head {previous.hex()}.",
        None,
        previous,
        leaves,
    )


@dataclass
class CheckpointReport:
    ok: bool
    checked: int
    message: str


def _sources(using: str, directory: Path | None) -> list[tuple[str, str]]:
    """(where, note text) for every checkpoint in the table and in the directory."""
    found = [
        (f"checkpoint row {cp.pk} (size {cp.size})", cp.note)
        for cp in AuditCheckpoint.objects.using(using).order_by("size", "pk")
    ]
    if directory is not None and directory.is_dir():
        found += [
            (f"checkpoint file {path}", path.read_text(encoding="utf-8"))
            for path in sorted(directory.glob("checkpoint-*.txt"))
        ]
    return found


def verify_checkpoints(
    leaves: list[bytes],
    *,
    origin: str,
    key_name: str,
    public_key: Ed25519PublicKey,
    using: str = "default",
    directory: Path | None = None,
) -> CheckpointReport:
    """Check every signed checkpoint against the log's first ``size`` leaves.

    A log whose chain was recomputed after tampering still verifies on its own; it cannot match
    a checkpoint signed before the tampering, and the files outside the database keep those.
    """
    roots: dict[int, bytes] = {}
    checked = 0
    last_good = 0
    failures: list[tuple[int, str]] = []
    sources = _sources(using, directory)
    rows = sum(1 for where, _ in sources if where.startswith("checkpoint row"))
    for where, text in sources:
        try:
            checkpoint = note.open_note(text, key_name, public_key)
        except note.NoteError as exc:
            failures.append((0, f"{where} does not verify: {exc}"))
            continue
        checked += 1
        if checkpoint.origin != origin:
            failures.append((0, f"{where} is for log {checkpoint.origin!r}, not {origin!r}."))
        elif checkpoint.size > len(leaves):
            failures.append(
                (
                    checkpoint.size,
                    f"{where} vouches for {checkpoint.size} events but the log holds only "
                    f"{len(leaves)}: events were removed.",
                )
            )
        else:
            if checkpoint.size not in roots:
                roots[checkpoint.size] = merkle.root(leaves[: checkpoint.size])
            if roots[checkpoint.size] != checkpoint.root:
                failures.append(
                    (
                        checkpoint.size,
                        f"{where}: events 1..{checkpoint.size} do not match the signed "
                        "checkpoint: the log was rewritten.",
                    )
                )
            else:
                last_good = max(last_good, checkpoint.size)
    if failures:
        failures.sort(key=lambda f: f[0])
        size, message = failures[0]
        hint = ""
        if size and last_good < size:
            hint = f" The change lies between sequence numbers {last_good + 1} and {size}."
        return CheckpointReport(False, checked, message + hint)
    return CheckpointReport(
        True,
        checked,
        f"Signed checkpoints match the log: {rows} in the database, {checked - rows} in files"
        + (f" ({directory})." if directory is not None else "."),
    )


def checkpoints_exist(using: str = "default", directory: Path | None = None) -> bool:
    """Whether any signed checkpoint is on record, in the table or as a file."""
    if AuditCheckpoint.objects.using(using).exists():
        return True
    return directory is not None and directory.is_dir() and any(directory.glob("checkpoint-*.txt"))


@dataclass
class LogReport:
    """The whole verification: ok, and the lines to print (the last one says why it failed)."""

    ok: bool
    lines: list[str]


def verify_log(
    *,
    using: str = "default",
    verifier_key: str,
    skip_checkpoints: bool,
    directory: Path | None,
) -> LogReport:
    """The one verification rule: the chain, then every checkpoint.

    Checkpoints on record must be checked: without a verifier key that is a failure, never a
    silent pass (a rewritten log recomputes a valid chain; only the checkpoints show it).
    Skipping them is the caller's explicit choice, and the result says so.
    """
    result = verify_chain(using, keep_leaves=not skip_checkpoints)
    if not result.ok:
        return LogReport(False, [result.message])
    lines = [result.message]
    if skip_checkpoints:
        lines.append(
            "Signed checkpoints NOT checked (skipped on request): a rewritten log with a "
            "recomputed chain would pass this verification."
        )
        return LogReport(True, lines)
    present = checkpoints_exist(using, directory)
    if not verifier_key:
        if present:
            lines.append(
                "Verification FAILED: signed checkpoints exist but no verifier key is configured "
                "(AUDIT_CHECKPOINT_VERIFIER_KEY, --verifier-key or the signing key file), so "
                "they cannot be checked. Give the key, or skip them explicitly with "
                "--skip-checkpoints."
            )
            return LogReport(False, lines)
        lines.append("No signed checkpoints on record yet (run `madoguchi audit checkpoint`).")
        return LogReport(True, lines)
    try:
        name, public_key = note.parse_verifier_key(verifier_key)
    except note.NoteError as exc:
        lines.append(f"Verification FAILED: the verifier key is not usable: {exc}")
        return LogReport(False, lines)
    report = verify_checkpoints(
        result.leaves,
        origin=conf.origin(),
        key_name=name,
        public_key=public_key,
        using=using,
        directory=directory,
    )
    lines.append(report.message)
    return LogReport(report.ok, lines)
