"""Brings the read models up to date from the ledger's events.

Each batch is the next events after the tracked position. The projector
keeps the histories of the claims it has seen in memory (`Histories`, with
folded snapshots), so a claim a batch touches is folded only from its latest
snapshot, not from its first event; only the timeline entries from its
earliest new event on (in fold order: a back-dated event can change every
entry after it) are written again. The rows and the new tracked position are
written in one transaction: nothing is applied twice or missed, and a batch
applied again after a crash writes the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Final
from uuid import UUID

from factledger.histories import Histories
from ledger.history import ClaimHistory
from ledger.recorded import RecordedEvent
from projections.read_models import LIVE, Batch, ReadModels, TableSet
from projections.records import ClaimProjection, project
from storage.event_log import EventLog
from storage.mapper import decode_row

__all__ = ["DEFAULT_BATCH_SIZE", "Projector"]

DEFAULT_BATCH_SIZE: Final = 500

log = logging.getLogger(__name__)


class Projector:
    def __init__(
        self,
        event_log: EventLog,
        store: ReadModels,
        batch_size: int = DEFAULT_BATCH_SIZE,
        histories: Histories | None = None,
    ) -> None:
        self.event_log = event_log
        self.store = store
        self.batch_size = batch_size
        self.histories = histories or Histories()

    def batches(self, after: int) -> Iterator[Batch]:
        """The batches of every event after a position, as far as the ledger goes."""
        queries = self.event_log.queries
        while rows := queries.rows_after(after, self.batch_size):
            events = [decode_row(row) for row in rows]
            end = events[-1].position
            yield Batch(self._projections(events, end), end, len(events))
            if len(rows) < self.batch_size:
                return  # that was the head; later appends wake the projector again
            after = end

    def catch_up(self, tables: TableSet = LIVE) -> int:
        """Applies every event not yet applied to those tables; returns how many."""
        applied = 0
        for batch in self.batches(self.store.position(tables)):
            self.store.apply(batch, tables)
            applied += batch.events
            log.debug("read models at position %d", batch.end)
        return applied

    def _projections(self, events: Sequence[RecordedEvent], end: int) -> list[ClaimProjection]:
        by_claim: dict[UUID, list[RecordedEvent]] = {}
        for event in events:
            by_claim.setdefault(event.claim_id, []).append(event)
        self._load_missing(by_claim, end)
        projections = []
        for claim_id, new in by_claim.items():
            project_claim = partial(_projection, new=new)
            projection = self.histories.use(claim_id, project_claim)
            if projection is None:
                # Dropped to stay within the memory budget since it was read.
                self._load([claim_id], end)
                projection = self.histories.use(claim_id, project_claim)
            assert projection is not None, f"claim {claim_id} was just read"
            projections.append(projection)
        return projections

    def _load_missing(self, by_claim: dict[UUID, list[RecordedEvent]], end: int) -> None:
        """Reads the whole history (up to `end`) of every claim the projector does not
        hold up to its first new event."""
        missing = []
        for claim_id, new in by_claim.items():
            synced = self.histories.synced(claim_id)
            if synced is None or synced[0] < new[0].version - 1:
                missing.append(claim_id)
        if missing:
            self._load(missing, end)

    def _load(self, claim_ids: list[UUID], end: int) -> None:
        """Keeps the whole history of these claims up to `end`, read afresh."""
        rows = self.event_log.queries.claims_rows(claim_ids, end)
        loaded: dict[UUID, list[RecordedEvent]] = {claim_id: [] for claim_id in claim_ids}
        for row in rows:
            loaded[row.claim_id].append(decode_row(row))
        for claim_id, events in loaded.items():
            self.histories.replace(claim_id, events)


def _projection(history: ClaimHistory, *, new: list[RecordedEvent]) -> ClaimProjection:
    """Adds a claim's new events to its history; its rows from the fold of all of them."""
    fresh = history.version < new[0].version
    history.add(new)
    folded = history.fold(new[-1].recorded_at_us, None)
    changes_from = None if new[0].version == 1 or not fresh else min(e.fold_key for e in new)
    return project(
        history.claim_id,
        folded,
        registration=history.events[0],
        last_position=history.events[-1].position,
        changes_from=changes_from,
    )
