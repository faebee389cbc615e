"""Brings the read models up to date from the ledger's notification log.

Each batch is the next events after the tracked position; every claim they
touch is folded again from all of its events up to the batch's last position
(a back-dated event can change any entry of a timeline), and its rows are
replaced, with the new tracked position, in one transaction. A batch that is
applied again after a crash therefore finds the same rows, and the tracking
record refuses it anyway: nothing is applied twice or missed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Final
from uuid import UUID

from projections.records import ClaimProjection, project_claim
from projections.store import LIVE, Batch, ReadModelStore, TableSet
from storage.event_log import EventLog
from storage.rows import EventRow

__all__ = ["DEFAULT_BATCH_SIZE", "Projector", "project_histories"]

DEFAULT_BATCH_SIZE: Final = 500

log = logging.getLogger(__name__)


def project_histories(
    event_log: EventLog, rows: Iterable[EventRow], *, cache: bool = True
) -> Iterator[ClaimProjection]:
    """The projection of each claim in rows grouped by claim, in version order."""
    for claim_id, history in groupby(rows, key=lambda row: row.claim_id):
        yield project_claim(claim_id, [event_log.recorded(row, cache=cache) for row in history])


class Projector:
    def __init__(
        self, event_log: EventLog, store: ReadModelStore, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        self.event_log = event_log
        self.store = store
        self.batch_size = batch_size

    def batches(self, after: int) -> Iterator[Batch]:
        """The batches of every event after a position, as far as the ledger goes."""
        queries = self.event_log.queries
        while rows := queries.rows_after(after, self.batch_size):
            end = rows[-1].position
            claim_ids: list[UUID] = list(dict.fromkeys(row.claim_id for row in rows))
            histories = queries.histories(claim_ids, end)
            yield Batch(list(project_histories(self.event_log, histories)), end, len(rows))
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
