"""`factledger verify`: the ledger's history checked from its database alone.

Every leaf is computed again from the stored events, in leaf order, and
compared with the stored tree's; as the leaves pass each stored checkpoint's
size, the head they make is compared with the checkpoint's root, its
signature is checked against the published keys, and a consistency proof
from the checkpoint before, built from the stored tree, must hold between
the two. Memory stays O(log n) whatever the ledger's size. The first thing
that does not hold is named: a position and leaf, or a checkpoint's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ledger.checkpoints import InvalidNote, PublishedKey, open_checkpoint, parse_verifier_key
from ledger.leaves import event_leaf_hash
from ledger.merkle import (
    CompactRange,
    StoredNodes,
    consistency_nodes,
    consistency_proof,
    verify_consistency,
)
from storage.event_log import EventLog
from storage.mapper import decode_row
from storage.rows import EventRow
from storage.tree import CheckpointRow, TreeStore

__all__ = ["VerificationFailed", "Verified", "verify_ledger"]

_BATCH: Final = 1_000


class VerificationFailed(Exception):
    """What does not hold, in one line."""


@dataclass(frozen=True)
class Verified:
    events: int
    tree_size: int
    checkpoints: int
    keys: int


def verify_ledger(
    event_log: EventLog, store: TreeStore, on_progress: Callable[[int], None] = lambda _: None
) -> Verified:
    keys = [parse_verifier_key(row.verifier_key) for row in store.published_keys()]
    checkpoints = _Checkpoints(store, keys)
    tree_size = store.size()
    head = CompactRange()
    checkpoints.reached(head)  # a checkpoint of the empty tree, if one was signed
    while rows := event_log.queries.rows_from_leaf(head.size, _BATCH):
        first = head.size
        stored = store.nodes((0, i) for i in range(first, min(first + len(rows), tree_size)))
        for index, row in enumerate(rows, start=first):
            leaf = _leaf(index, row)
            if index < tree_size and stored.get((0, index)) != leaf:
                raise VerificationFailed(
                    f"position {row.position} (leaf {index}): the event does not hash to the "
                    "tree's leaf (the event or the tree was altered)"
                )
            head.add(leaf)
            checkpoints.reached(head)
        on_progress(len(rows))
    if tree_size > head.size:
        raise VerificationFailed(
            f"the tree holds {tree_size} leaves but the ledger only {head.size} events"
        )
    checkpoints.finished(head.size)
    return Verified(head.size, tree_size, checkpoints.count, len(keys))


def _leaf(index: int, row: EventRow) -> bytes:
    where = f"position {row.position} (leaf {index})"
    if row.leaf_index != index:
        raise VerificationFailed(f"{where}: its leaf index is {row.leaf_index}")
    try:
        return event_leaf_hash(decode_row(row))
    except Exception as error:  # noqa: BLE001 (a damaged event is named, whatever broke)
        raise VerificationFailed(f"{where}: the stored event cannot be read ({error})") from None


class _Checkpoints:
    """The stored checkpoints, by size, each checked when the leaves reach it."""

    def __init__(self, store: TreeStore, keys: list[PublishedKey]) -> None:
        self.store = store
        self.keys = keys
        self.pending = list(store.checkpoints())
        self.pending.reverse()  # the smallest last, to be popped first
        self.previous: tuple[int, bytes] | None = None
        self.count = 0

    def reached(self, head: CompactRange) -> None:
        while self.pending and self.pending[-1].size == head.size:
            self._check(self.pending.pop(), head.root())

    def finished(self, events: int) -> None:
        if self.pending:
            size = self.pending[-1].size
            raise VerificationFailed(
                f"checkpoint of size {size}: the ledger has only {events} events"
            )

    def _check(self, row: CheckpointRow, root: bytes) -> None:
        where = f"checkpoint of size {row.size}"
        if row.root != root:
            raise VerificationFailed(f"{where}: its stored root is not the events' tree's")
        try:
            opened = open_checkpoint(row.note, self.keys)
        except InvalidNote as error:
            raise VerificationFailed(
                f"{where}: its signed note does not verify ({error})"
            ) from None
        if (opened.size, opened.root) != (row.size, root):
            raise VerificationFailed(f"{where}: its signed note is of another tree")
        if self.previous is not None and self.previous[0] > 0:
            old_size, old_root = self.previous
            nodes = StoredNodes(self.store.nodes(consistency_nodes(old_size, row.size)))
            try:
                proof = consistency_proof(nodes, old_size, row.size)
            except KeyError:
                proof = []
            if not verify_consistency(old_size, row.size, old_root, root, proof):
                raise VerificationFailed(
                    f"{where}: the stored tree proves no consistency with the checkpoint "
                    f"of size {old_size}"
                )
        self.previous = (row.size, root)
        self.count += 1
