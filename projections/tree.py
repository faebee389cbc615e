"""Feeds the ledger's Merkle tree from the event log, leaf after leaf.

The stored tree's size is its tracking: the next leaf is the event whose
leaf index is that size, and the leaves and the new size are written in one
transaction (`storage.tree.TreeStore.append`), so no leaf is added twice or
skipped, whichever process feeds it and however often it stops.
"""

from __future__ import annotations

import logging
from typing import Final

from ledger.leaves import event_leaf_hash
from storage.event_log import EventLog
from storage.mapper import decode_row
from storage.tree import TreeOutOfStep, TreeStore

__all__ = ["TreeFeeder"]

DEFAULT_LEAVES_PER_BATCH: Final = 1_000

log = logging.getLogger(__name__)


class TreeFeeder:
    def __init__(
        self, event_log: EventLog, store: TreeStore, batch_size: int = DEFAULT_LEAVES_PER_BATCH
    ) -> None:
        self.event_log = event_log
        self.store = store
        self.batch_size = batch_size

    def catch_up(self, limit: int | None = None) -> int:
        """Adds every leaf not yet in the tree, or the next `limit` at most;
        returns how many."""
        added = 0
        size = self.store.size()
        while limit is None or added < limit:
            batch = self.batch_size if limit is None else min(self.batch_size, limit - added)
            rows = self.event_log.queries.rows_from_leaf(size, batch)
            if not rows:
                break
            leaves = []
            for expected, row in enumerate(rows, start=size):
                if row.leaf_index != expected:
                    raise AssertionError(f"leaf {expected} is missing from the event index")
                leaves.append(event_leaf_hash(decode_row(row)))
            try:
                size = self.store.append(size, leaves)
            except TreeOutOfStep as error:
                log.warning("tree: %s; reading its size again", error)
                size = self.store.size()
                continue
            added += len(leaves)
            if len(rows) < batch:
                break
        return added
