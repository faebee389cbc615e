"""Every event's leaf index (SPEC §6), over HTTP on both backends: dense from 0 in
position order, fixed at write time, the same in every envelope read back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factledger.service import LedgerService
from ledger.access import Role
from storage.errors import AppendRefused
from storage.mapper import new_events
from tests.e2e.http_calls import CLAIM, REBUTTAL, post
from tests.writes import register

Headers = Callable[[Role], dict[str, str]]


def test_leaf_indexes_are_dense_in_position_order_and_read_back_unchanged(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    written: list[dict[str, Any]] = []
    for _ in range(3):
        claim = post(client, "/claims", CLAIM, editor).json()
        written.append(claim)
        written.append(
            post(client, f"/claims/{claim['claim_id']}/rebuttals", REBUTTAL, editor).json()
        )
    assert [e["leaf_index"] for e in written] == list(range(6))
    assert [e["position"] for e in written] == sorted(e["position"] for e in written)

    listed = client.get("/events", params={"limit": 100}).json()
    by_id = {e["event_id"]: e for e in written}
    assert [e["leaf_index"] for e in listed["events"]] == list(range(6))
    for envelope in listed["events"]:
        assert envelope == by_id[envelope["event_id"]]
        assert client.get(f"/events/{envelope['event_id']}").json() == envelope
    history = client.get(f"/claims/{written[0]['claim_id']}/history").json()
    assert history == written[:2]


def test_a_gap_in_positions_leaves_no_gap_in_leaf_indexes(service: LedgerService) -> None:
    """A refused batch may use up positions (PostgreSQL's sequence): never leaf indexes."""
    first = register(service).event
    appender = service.persistence.appender
    taken = service.persistence.event_log.queries.rows_after(0, 1)[0]
    with pytest.raises(AppendRefused):
        appender.append(new_events([taken.stored_event()]), [])
    second = register(service).event
    assert second.position > first.position
    assert (first.leaf_index, second.leaf_index) == (0, 1)
