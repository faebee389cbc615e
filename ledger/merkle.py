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
    "CompactRange",
    "LeafHashes",
    "Node",
    "RangeHashes",
    "StoredNodes",
    "appended_nodes",
    "consistency_nodes",
    "consistency_proof",
    "frontier",
    "inclusion_nodes",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "range_nodes",
    "root_from_inclusion",
    "root_nodes",
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


# --- a tree kept as the hashes of its complete subtrees ------------------------------
#
# Node (level, index) is MTH(D[index·2^level : (index+1)·2^level]), kept once that
# range is complete; leaves are level 0. Every range the proofs ask for is a run
# of such nodes, so a store of them answers a proof with O(log n) reads.

Node = tuple[int, int]
"""(level, index) of a complete, aligned subtree."""


def range_nodes(start: int, end: int) -> list[Node]:
    """The complete subtrees D[start:end] is made of, left to right (largest first),
    for the ranges RFC 9162's recursion makes (start a multiple of a power of two
    at least as large as the largest power of two in end - start)."""
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def frontier(size: int) -> list[Node]:
    """The complete subtrees a tree of `size` leaves ends with, left to right."""
    return range_nodes(0, size)


def appended_nodes(
    size: int, edge: dict[Node, bytes], leaves: Sequence[bytes]
) -> list[tuple[int, int, bytes]]:
    """The nodes that appending `leaves` to a tree of `size` completes, given the
    hashes of its frontier: (level, index, hash), leaves included."""
    known = dict(edge)
    made: list[tuple[int, int, bytes]] = []
    for offset, leaf in enumerate(leaves):
        index, level, node = size + offset, 0, leaf
        known[0, index] = node
        made.append((0, index, node))
        while index & 1:
            node = node_hash(known[level, index - 1], node)
            level, index = level + 1, index >> 1
            known[level, index] = node
            made.append((level, index, node))
    return made


class StoredNodes:
    """`RangeHashes` over a map of stored nodes (those `needed_nodes` named)."""

    def __init__(self, nodes: dict[Node, bytes]) -> None:
        self.nodes = nodes

    def mth(self, start: int, end: int) -> bytes:
        parts = [self.nodes[node] for node in range_nodes(start, end)]
        found = parts[-1]
        for part in reversed(parts[:-1]):
            found = node_hash(part, found)
        return found


class _Planned:
    """A `RangeHashes` that notes the nodes each range needs (and answers nothing real)."""

    def __init__(self) -> None:
        self.nodes: set[Node] = set()

    def mth(self, start: int, end: int) -> bytes:
        self.nodes.update(range_nodes(start, end))
        return b""


def inclusion_nodes(index: int, size: int) -> set[Node]:
    """The stored nodes an inclusion proof and its leaf are made of."""
    planned = _Planned()
    inclusion_path(planned, index, size)
    return planned.nodes | {(0, index)}


def consistency_nodes(old_size: int, new_size: int) -> set[Node]:
    """The stored nodes a consistency proof is made of."""
    planned = _Planned()
    consistency_proof(planned, old_size, new_size)
    return planned.nodes


def root_nodes(size: int) -> set[Node]:
    return set(frontier(size))


class CompactRange:
    """A tree's head kept as leaves arrive, in O(log n) memory: the hashes of the
    complete subtrees it ends with (a verifier streaming every leaf once)."""

    def __init__(self) -> None:
        self.size = 0
        self._subtrees: list[tuple[int, bytes]] = []  # (level, hash), largest first

    def add(self, leaf: bytes) -> None:
        level, node = 0, leaf
        while self._subtrees and self._subtrees[-1][0] == level:
            _, left = self._subtrees.pop()
            level, node = level + 1, node_hash(left, node)
        self._subtrees.append((level, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._subtrees:
            return EMPTY_ROOT
        found = self._subtrees[-1][1]
        for _, left in reversed(self._subtrees[:-1]):
            found = node_hash(left, found)
        return found
