"""RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, proofs and their verification.

Pure Python, no Django. Leaves are given as their leaf hashes (``leaf_hash(data)``), which is
what the audit table stores, so a tree never needs the original data again.

- leaf hash  ``SHA-256(0x00 || data)``
- node hash  ``SHA-256(0x01 || left || right)``
- MTH(D[n]) splits at k, the largest power of two strictly smaller than n (RFC 9162 §2.1.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not verify, or its arguments are out of range."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, iteratively (O(n) time, O(log n) memory): the one prefix that is
    the whole log (``prefix_roots``)."""
    return prefix_roots(leaves, {len(leaves)})[len(leaves)]


def prefix_roots(leaves: Sequence[bytes], sizes: set[int]) -> dict[int, bytes]:
    """MTH of each prefix ``leaves[:size]`` for the sizes asked (0..len(leaves)), in one pass
    over the leaves: O(n + k log n) for k sizes, where ``root`` of each would be O(k n)."""
    roots = {size: EMPTY_ROOT for size in sizes if size == 0}
    stack: list[tuple[int, bytes]] = []
    for count, leaf in enumerate(leaves, start=1):
        height, h = 0, leaf
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            h = node_hash(left, h)
            height += 1
        stack.append((height, h))
        if count in sizes:
            # The prefix's root: its complete subtrees folded right to left, as in `root`.
            folded = stack[-1][1]
            for _, left in reversed(stack[:-1]):
                folded = node_hash(left, folded)
            roots[count] = folded
    return roots


def _subtree(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    return root(leaves[start:end])


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ProofError(f"Leaf index {index} is outside a tree of size {n}.")
    proof: list[bytes] = []
    start, end = 0, n
    # Walk from the root down, collecting siblings; the RFC lists them bottom-up.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(_subtree(leaves, start + k, end))
            end = start + k
        else:
            proof.append(_subtree(leaves, start, start + k))
            start = start + k
    proof.reverse()
    return proof


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that the proof implies for this leaf."""
    if not 0 <= index < size:
        raise ProofError(f"Leaf index {index} is outside a tree of size {size}.")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if len(p) != HASH_SIZE:
            raise ProofError("A proof node is not a SHA-256 hash.")
        if sn == 0:
            raise ProofError("The inclusion proof is longer than the tree is deep.")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("The inclusion proof is shorter than the tree is deep.")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows leaf ``index`` is in the tree with that root."""
    if root_from_inclusion_proof(leaf, index, size, proof) != expected_root:
        raise ProofError("The inclusion proof does not lead to the expected root.")


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if not 0 <= old_size <= n:
        raise ProofError(f"Old size {old_size} is outside 0..{n}.")
    if old_size in (0, n):
        return []
    return _subproof(leaves, old_size, 0, n, True)


def _subproof(leaves: Sequence[bytes], m: int, start: int, end: int, complete: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [_subtree(leaves, start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves, m, start, start + k, complete), _subtree(leaves, start + k, end)]
    return [*_subproof(leaves, m - k, start + k, end, False), _subtree(leaves, start, start + k)]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2. Raise ProofError unless the old tree is a prefix of the new one."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"Old size {old_size} is outside 0..{new_size}.")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("A proof node is not a SHA-256 hash.")
    if old_size == new_size:
        if proof:
            raise ProofError("A proof between trees of the same size must be empty.")
        if old_root != new_root:
            raise ProofError("Trees of the same size have different roots.")
        return
    if old_size == 0:
        if proof:
            raise ProofError("A proof from the empty tree must be empty.")
        return
    if not proof:
        raise ProofError("The consistency proof is empty.")
    nodes = list(proof)
    # Step 1: if old_size is an exact power of two, the old root is the first node.
    if old_size & (old_size - 1) == 0:
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    # Step 3: shift right while the lowest bit of fn is set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("The consistency proof is longer than needed.")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # The classic bug is omitting this: the proof must consume the whole second tree.
    if sn != 0:
        raise ProofError("The consistency proof is shorter than needed.")
    if fr != old_root:
        raise ProofError("The consistency proof does not lead to the old root.")
    if sr != new_root:
        raise ProofError("The consistency proof does not lead to the new root.")
