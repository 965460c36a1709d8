"""Recompute the audit log's leaves and chain, and check signed checkpoints against them."""

from __future__ import annotations

from dataclasses import dataclass, field

from .canonical import GENESIS, CanonicalError, chain_hash, event_leaf_hash
from .models import AuditEvent


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
