"""The Merkle tree of RFC 9162 §2.1: tree heads and proofs against the
published Certificate Transparency test vectors (the reference
implementation's, kept by transparency-dev), and for every tree up to 300
leaves, every proof verifies and no altered one does."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    LeafHashes,
    StoredNodes,
    appended_nodes,
    consistency_nodes,
    consistency_proof,
    frontier,
    inclusion_nodes,
    inclusion_path,
    leaf_hash,
    root_nodes,
    tree_head,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path)
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

TREE = LeafHashes([leaf_hash(entry) for entry in LEAVES])


def hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def test_the_empty_tree_is_the_hash_of_nothing() -> None:
    assert tree_head(LeafHashes([]), 0) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize("size", range(1, 9))
def test_tree_heads_are_the_published_ones(size: int) -> None:
    assert tree_head(TREE, size).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_paths_are_the_published_ones_and_verify(
    index: int, size: int, path: list[str]
) -> None:
    assert hexes(inclusion_path(TREE, index, size)) == path
    root = bytes.fromhex(ROOTS[size])
    leaf = leaf_hash(LEAVES[index])
    assert verify_inclusion(index, size, leaf, [bytes.fromhex(h) for h in path], root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_are_the_published_ones_and_verify(
    old: int, new: int, proof: list[str]
) -> None:
    assert hexes(consistency_proof(TREE, old, new)) == proof
    assert verify_consistency(
        old,
        new,
        bytes.fromhex(ROOTS[old]),
        bytes.fromhex(ROOTS[new]),
        [bytes.fromhex(h) for h in proof],
    )


def test_proofs_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError, match="no leaf"):
        inclusion_path(TREE, 8, 8)
    with pytest.raises(ValueError, match="no consistency"):
        consistency_proof(TREE, 0, 8)
    with pytest.raises(ValueError, match="no consistency"):
        consistency_proof(TREE, 5, 4)
    root = tree_head(TREE, 8)
    assert not verify_inclusion(8, 8, leaf_hash(b""), [], root)
    assert not verify_consistency(5, 4, root, root, [])


def altered(hashes: list[bytes], which: int) -> list[bytes]:
    changed = list(hashes)
    flipped = bytearray(changed[which])
    flipped[0] ^= 1
    changed[which] = bytes(flipped)
    return changed


@st.composite
def trees(draw: st.DrawFn) -> tuple[int, LeafHashes]:
    size = draw(st.integers(min_value=1, max_value=300))
    seed = draw(st.binary(min_size=1, max_size=8))
    return size, LeafHashes([leaf_hash(seed + i.to_bytes(4, "big")) for i in range(size)])


@settings(max_examples=150, deadline=None)
@given(tree=trees(), data=st.data())
def test_every_inclusion_proof_verifies_and_none_altered_does(
    tree: tuple[int, LeafHashes], data: st.DataObject
) -> None:
    size, leaves = tree
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    root = tree_head(leaves, size)
    leaf = leaves.leaves[index]
    path = inclusion_path(leaves, index, size)
    assert verify_inclusion(index, size, leaf, path, root)
    assert not verify_inclusion(index, size, altered([leaf], 0)[0], path, root)
    assert not verify_inclusion(index, size, leaf, path, altered([root], 0)[0])
    for which in range(len(path)):
        assert not verify_inclusion(index, size, leaf, altered(path, which), root)
    if size > 1:
        other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
        assert not verify_inclusion(other, size, leaf, path, root)
        assert not verify_inclusion(index, size, leaf, [*path, path[0]], root)
        assert not verify_inclusion(index, size, leaf, path[:-1], root)


@settings(max_examples=150, deadline=None)
@given(tree=trees(), data=st.data())
def test_every_consistency_proof_verifies_and_none_altered_does(
    tree: tuple[int, LeafHashes], data: st.DataObject
) -> None:
    new, leaves = tree
    old = data.draw(st.integers(min_value=1, max_value=new))
    old_root, new_root = tree_head(leaves, old), tree_head(leaves, new)
    proof = consistency_proof(leaves, old, new)
    assert verify_consistency(old, new, old_root, new_root, proof)
    assert not verify_consistency(old, new, altered([old_root], 0)[0], new_root, proof)
    assert not verify_consistency(old, new, old_root, altered([new_root], 0)[0], proof)
    for which in range(len(proof)):
        assert not verify_consistency(old, new, old_root, new_root, altered(proof, which))
    if old < new:
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1])


def test_for_every_size_up_to_300_every_proof_verifies() -> None:
    leaves = LeafHashes([leaf_hash(i.to_bytes(2, "big")) for i in range(300)])
    roots = [tree_head(leaves, n) for n in range(301)]
    for size in range(1, 301):
        for index in range(size):
            path = inclusion_path(leaves, index, size)
            assert verify_inclusion(index, size, leaves.leaves[index], path, roots[size])
        for old in range(1, size + 1):
            proof = consistency_proof(leaves, old, size)
            assert verify_consistency(old, size, roots[old], roots[size], proof)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=300),
    chunks=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30),
    data=st.data(),
)
def test_a_tree_stored_as_complete_subtrees_answers_as_the_whole_tree_does(
    size: int, chunks: list[int], data: st.DataObject
) -> None:
    """Leaves added in any chunks, keeping only complete subtrees and reading only
    the nodes each proof names: the same heads and proofs as the leaves in memory."""
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    stored: dict[tuple[int, int], bytes] = {}
    added = 0
    for drawn in [*chunks, size]:
        chunk = min(drawn, size - added)
        edge = {node: stored[node] for node in frontier(added)}
        stored.update(
            {(lv, i): h for lv, i, h in appended_nodes(added, edge, leaves[added : added + chunk])}
        )
        added += chunk
        if added == size:
            break
    whole = LeafHashes(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    old = data.draw(st.integers(min_value=1, max_value=size))
    named = StoredNodes({n: stored[n] for n in inclusion_nodes(index, size) | root_nodes(size)})
    assert tree_head(named, size) == tree_head(whole, size)
    assert inclusion_path(named, index, size) == inclusion_path(whole, index, size)
    named = StoredNodes({n: stored[n] for n in consistency_nodes(old, size)})
    assert consistency_proof(named, old, size) == consistency_proof(whole, old, size)


def test_a_compact_range_keeps_the_head_of_every_size_up_to_300() -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(300)]
    whole = LeafHashes(leaves)
    head = CompactRange()
    assert head.root() == EMPTY_ROOT
    for size, leaf in enumerate(leaves, start=1):
        head.add(leaf)
        assert (head.size, head.root()) == (size, tree_head(whole, size))
