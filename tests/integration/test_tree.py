"""The stored Merkle tree on both backends: fed by two processes at once, every
leaf is added exactly once, in leaf order, and the tree's head is the one
computed from the events themselves."""

from __future__ import annotations

import threading

import pytest

from factledger.service import LedgerService
from ledger.events import EventType
from ledger.leaves import event_leaf_hash
from ledger.merkle import LeafHashes, StoredNodes, root_nodes, tree_head
from storage.tree import TreeOutOfStep
from tests.writes import FILING, register, write


def test_two_feeders_at_once_add_every_leaf_once(
    service: LedgerService, other_service: LedgerService
) -> None:
    for _ in range(40):
        claim = register(service).event.claim_id
        write(service, EventType.REBUTTAL_FILED, FILING, claim_id=claim)
    service.tree_feeder.batch_size = other_service.tree_feeder.batch_size = 7
    added: list[int] = []
    feeders = [
        threading.Thread(target=lambda f=feeder: added.append(f.catch_up()))
        for feeder in (service.tree_feeder, other_service.tree_feeder) * 2
    ]
    for thread in feeders:
        thread.start()
    for thread in feeders:
        thread.join(60)
    store = service.persistence.tree
    assert store.size() == 80
    assert sum(added) == 80
    events = service.persistence.event_log.page(0, 1000)
    leaves = [event_leaf_hash(event) for event in events]
    stored = StoredNodes(store.nodes(root_nodes(80)))
    assert tree_head(stored, 80) == tree_head(LeafHashes(leaves), 80)
    assert store.nodes((0, i) for i in range(80)) == {(0, i): leaf for i, leaf in enumerate(leaves)}


def test_leaves_offered_out_of_step_are_refused_and_nothing_is_stored(
    service: LedgerService,
) -> None:
    store = service.persistence.tree
    store.append(0, [bytes(32), bytes(32)])
    for first in (0, 1, 3):
        with pytest.raises(TreeOutOfStep):
            store.append(first, [bytes(32)])
    assert store.size() == 2
    assert store.nodes([(0, 2)]) == {}
    assert store.append(2, [bytes(32)]) == 3


def test_a_feeder_adds_a_bounded_share_at_a_time_when_asked(service: LedgerService) -> None:
    for _ in range(20):
        register(service)
    feeder = service.tree_feeder
    feeder.batch_size = 7
    assert feeder.catch_up(limit=10) == 10
    assert service.persistence.tree.size() == 10
    assert feeder.catch_up(limit=100) == 10
    assert feeder.catch_up() == 0
    assert service.persistence.tree.size() == 20
