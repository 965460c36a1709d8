"""Recompute the audit log's leaves and chain, and check signed checkpoints against them."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import DatabaseError, connections, transaction

from . import conf, constraint, merkle, note
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
    """Walk the log in seq order; stop at the first row whose seq, leaf or chain is wrong.

    Either way each row's leaf hash must be SHA-256 of the canonical form of its columns. On
    PostgreSQL that is checked on the stored canonical bytes: the database guarantees that the
    columns are the document in those bytes (`madoguchi.audit.constraint`, checked once in the
    catalog; without it, the columns are compared with the bytes in SQL), so hashing the bytes
    is hashing the columns' canonical form. Rows without stored bytes, or whose bytes do not
    hash to their leaf, are verified from their columns, as on SQLite
    (docs/adr/1503-audit-columns-checked-by-the-database.md)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        outermost = not connection.in_atomic_block
        try:
            with transaction.atomic(using=using):
                if outermost:  # one snapshot for the catalog check, the counts and every page
                    with connection.cursor() as cursor:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return _verify_stored(using, keep_leaves)
        except DatabaseError:  # stored bytes or hashes SQL cannot read: verify from the columns
            pass
    return _verify_rows(using, keep_leaves)


# Rows whose columns are not the document their stored canonical bytes hold (as JSON values);
# needed only while the constraint that makes this impossible is not in place.
_SUSPECTS_SQL = f"""
SELECT seq FROM audit_auditevent
WHERE canonical IS NOT NULL
    AND {constraint.STORED_DOCUMENT} IS DISTINCT FROM {constraint.COLUMNS_DOCUMENT}
"""  # noqa: S608 (constants only)
_CHUNK = 20_000
# Pages of the fast path: the stored bytes and the row's two hashes, nothing else.
_PAGE_SQL = (
    "SELECT canonical, leaf_hash || chain_hash FROM audit_auditevent "
    "WHERE seq BETWEEN %s AND %s ORDER BY seq"
)
_PAGE = 2_000


def _verify_stored(using: str, keep_leaves: bool) -> VerifyResult:
    """`verify_chain` over stored canonical bytes (PostgreSQL)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        guaranteed, _ = constraint.in_place(cursor)
        cursor.execute("SELECT count(*), min(seq), max(seq) FROM audit_auditevent")
        count, low, high = cursor.fetchone()
        suspects: set[int] = set()
        if not guaranteed:
            cursor.execute(_SUSPECTS_SQL)
            suspects = {seq for (seq,) in cursor.fetchall()}
    if guaranteed and (count == 0 or (low == 1 and high == count)):
        # seq is unique: count rows from 1 to count are exactly 1, 2, ..., count (no gap).
        result = _verify_pages(using, count, keep_leaves)
        if result is not None:
            return result
    return _verify_keyset(using, 1 if low is None else min(low, 1), suspects, keep_leaves)


def _verify_pages(using: str, size: int, keep_leaves: bool) -> VerifyResult | None:
    """The fast path: pages of (stored bytes, leaf hash || chain hash) by seq range, the next
    page fetched (by the database, on another core) while this one is hashed.

    Per row: SHA-256 of 0x00 || the stored bytes, SHA-256 of the previous chain hash || that,
    one comparison with the stored hex. A row without stored bytes, or that does not compare
    equal, is verified from its columns (`_leaf_of`, same messages). None if the log changed
    under the walk (it cannot in one snapshot): the caller then takes the keyset path."""
    import psycopg  # PostgreSQL only

    connection = connections[using]
    raw = connection.connection
    sha256 = hashlib.sha256
    zero = sha256(b"\x00")
    previous = GENESIS
    leaves: list[bytes] = []

    def fetch(first: int) -> list[tuple[bytes | None, str]]:
        # The raw connection of this transaction (Django's wrapper is per thread); its errors
        # are raised as Django's, as the wrapper would.
        with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
            cursor.execute(_PAGE_SQL, [first, min(first + _PAGE - 1, size)], binary=True)
            return cursor.fetchall()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-verify") as pool:
        pending = pool.submit(fetch, 1) if size else None
        for first in range(1, size + 1, _PAGE):
            assert pending is not None
            rows = pending.result()
            if first + _PAGE <= size:
                pending = pool.submit(fetch, first + _PAGE)
            if len(rows) != min(_PAGE, size - first + 1):
                return None
            i = 0
            while i < len(rows):
                for stored, hashes in rows[i:] if i else rows:
                    if stored is None:
                        break
                    h = zero.copy()
                    h.update(stored)
                    leaf = h.digest()
                    chained = sha256(previous + leaf).digest()
                    if (leaf + chained).hex() != hashes:
                        break
                    previous = chained
                    if keep_leaves:
                        leaves.append(leaf)
                    i += 1
                else:
                    break
                # From the columns, exactly as `_verify_rows` does (and with its messages).
                row = AuditEvent.objects.using(using).get(seq=first + i)
                failed, leaf = _leaf_of(row, previous, leaves)
                if failed is not None:
                    return failed
                chained = sha256(previous + leaf).digest()
                if chained.hex() != row.chain_hash:
                    return _chain_broken(row.seq, previous, leaves)
                previous = chained
                if keep_leaves:
                    leaves.append(leaf)
                i += 1
    return _intact(size, previous, leaves)


def _verify_keyset(using: str, start: int, suspects: set[int], keep_leaves: bool) -> VerifyResult:
    """`verify_chain` over stored canonical bytes, row by row with each row's seq: for a log
    with gaps (named as missing rows), or while the columns are not guaranteed to agree with
    the bytes (`suspects`: rows whose columns do not, verified from the columns)."""
    connection = connections[using]
    sha256 = hashlib.sha256
    previous = GENESIS
    expected_seq = 1
    leaves: list[bytes] = []
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT seq, canonical, leaf_hash, chain_hash FROM audit_auditevent "
                "WHERE seq >= %s ORDER BY seq LIMIT %s",
                [start, _CHUNK],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        start = rows[-1][0] + 1
        for seq, stored, leaf_hex, chain_hex in rows:
            if seq != expected_seq:
                return _missing(expected_seq, seq, previous, leaves)
            leaf = sha256(b"\x00" + stored).digest() if stored is not None else b""
            if stored is None or seq in suspects or leaf.hex() != leaf_hex:
                # From the columns, exactly as `_verify_rows` does (and with its messages).
                row = AuditEvent.objects.using(using).get(seq=seq)
                failed, leaf = _leaf_of(row, previous, leaves)
                if failed is not None:
                    return failed
            chained = sha256(previous + leaf).digest()
            if chained.hex() != chain_hex:
                return _chain_broken(seq, previous, leaves)
            if keep_leaves:
                leaves.append(leaf)
            previous = chained
            expected_seq += 1
    return _intact(expected_seq - 1, previous, leaves)


def _missing(expected_seq: int, found: int, previous: bytes, leaves: list[bytes]) -> VerifyResult:
    return VerifyResult(
        False,
        expected_seq - 1,
        f"Audit log broken at sequence number {expected_seq}: the row is missing "
        f"(next row found is {found}).",
        expected_seq,
        previous,
        leaves,
    )


def _leaf_of(
    row: AuditEvent, previous: bytes, leaves: list[bytes]
) -> tuple[VerifyResult | None, bytes]:
    """The leaf of a row's columns, or the failure if it cannot be made or is not its leaf."""
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
        ), b""
    if leaf.hex() != row.leaf_hash:
        return VerifyResult(
            False,
            row.seq - 1,
            f"Audit log broken at sequence number {row.seq}: its contents do not match its "
            "leaf hash (the row was changed after it was written).",
            row.seq,
            previous,
            leaves,
        ), b""
    return None, leaf


def _chain_broken(seq: int, previous: bytes, leaves: list[bytes]) -> VerifyResult:
    return VerifyResult(
        False,
        seq - 1,
        f"Audit log broken at sequence number {seq}: its chain hash does not follow "
        "from the previous row (rows were changed, inserted or removed).",
        seq,
        previous,
        leaves,
    )


def _intact(size: int, previous: bytes, leaves: list[bytes]) -> VerifyResult:
    return VerifyResult(
        True,
        size,
        f"Audit log intact: {size} events, chain head {previous.hex()}.",
        None,
        previous,
        leaves,
    )


def _verify_rows(using: str, keep_leaves: bool) -> VerifyResult:
    """`verify_chain` from every row's columns (any database)."""
    previous = GENESIS
    expected_seq = 1
    leaves: list[bytes] = []
    rows = AuditEvent.objects.using(using).order_by("seq").iterator(chunk_size=2000)
    for row in rows:
        if row.seq != expected_seq:
            return _missing(expected_seq, row.seq, previous, leaves)
        failed, leaf = _leaf_of(row, previous, leaves)
        if failed is not None:
            return failed
        chained = chain_hash(previous, leaf)
        if chained.hex() != row.chain_hash:
            return _chain_broken(row.seq, previous, leaves)
        if keep_leaves:
            leaves.append(leaf)
        previous = chained
        expected_seq += 1
    return _intact(expected_seq - 1, previous, leaves)


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
