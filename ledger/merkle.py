"""The ledger's Merkle tree, as RFC 9162 (Certificate Transparency v2) §2.1
defines it: the tree head (MTH), inclusion proofs (PATH), consistency proofs
(PROOF), and the two verification algorithms a client runs.

The proofs are written over a `RangeHashes`: anything that gives the MTH of
a range of leaves D[start:end]. The ranges the algorithms ask for are the
ones RFC 9162's recursion makes — each a complete subtree of 2^k leaves
starting at a multiple of 2^k, or the rightmost part of a tree, itself made
of complete subtrees — so a store that keeps the hash of every complete
subtree answers each in O(log n) reads, and a proof costs O(log² n) at worst
and never a rescan of the log. `LeafHashes` is the in-memory one (tests, and
a verifier that has recomputed every leaf).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final, Protocol

__all__ = [
    "EMPTY_ROOT",
    "LeafHashes",
    "RangeHashes",
    "consistency_proof",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "tree_head",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class RangeHashes(Protocol):
    def mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 0 <= start < end <= the tree's size."""


class LeafHashes:
    """A tree held as its leaf hashes, in memory."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves
        self._nodes: dict[tuple[int, int], bytes] = {}

    def mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 1:
            return self.leaves[start]
        found = self._nodes.get((start, end))
        if found is None:
            k = _split(n)
            found = node_hash(self.mth(start, start + k), self.mth(start + k, end))
            self._nodes[start, end] = found
        return found


def tree_head(tree: RangeHashes, size: int) -> bytes:
    """MTH(D[0:size])."""
    return tree.mth(0, size) if size else EMPTY_ROOT


def inclusion_path(tree: RangeHashes, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]), leaf to root (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"no leaf {index} in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    # Walked from the root down; the path lists the siblings bottom up.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(tree.mth(start + k, end))
            end = start + k
        else:
            path.append(tree.mth(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(tree: RangeHashes, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) (RFC 9162 §2.1.4.1)."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    proof: list[bytes] = []
    m, start, end, whole = old_size, 0, new_size, True
    # SUBPROOF(m, D[start:end], whole), from the root down; nodes bottom up.
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(tree.mth(start + k, end))
            end = start + k
        else:
            proof.append(tree.mth(start, start + k))
            m -= k
            start += k
            whole = False
    if not whole:
        proof.append(tree.mth(start, end))
    proof.reverse()
    return proof


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root that `path` proves `leaf` at `index` into; None when the path
    cannot be one for that index and size (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
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
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    return root_from_inclusion(index, size, leaf, path) == root


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """RFC 9162 §2.1.4.2."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
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
    return fr == old_root and sr == new_root and sn == 0
