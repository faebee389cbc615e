"""Rebuilds every read model from the events into new tables, then swaps them in.

The events up to the ledger's head are read in one snapshot, claim by claim
(a claim's rows need all of its events and nothing else), and loaded a few
hundred claims at a time: memory holds one claim's events and one chunk of
rows, whatever the size of the ledger. Events appended meanwhile are then
applied as the live projector would, and the last few inside the swap's own
transaction, so the tables that go live are exactly as up to date as the ones
they replace, and a running `serve` answers from one or the other throughout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby, pairwise
from typing import Final, Protocol
from uuid import UUID

from projections.projector import Projector
from projections.read_models import REBUILD, Batch, ReadModels
from projections.records import ClaimProjection, fold_all, project
from storage.mapper import decode_row
from storage.queries import EventQueries
from storage.rows import EventRow

__all__ = [
    "EVERY_CLAIM",
    "ClaimRange",
    "ParallelLoad",
    "RebuildReport",
    "claim_ranges",
    "load_range",
    "rebuild",
]

_CLAIMS_PER_CHUNK: Final = 2_000
"""Claims loaded per transaction: bounds memory; fewer, larger transactions
load faster (each commit of SQLite waits for the disk)."""


@dataclass(frozen=True)
class RebuildReport:
    events: int
    """Events folded from the snapshot."""
    claims: int
    position: int
    """The position the new tables went live at."""
    seconds: float


@dataclass(frozen=True)
class ClaimRange:
    """Claims by id: from `lower` (inclusive) to `upper` (exclusive); None is open."""

    lower: UUID | None = None
    upper: UUID | None = None


EVERY_CLAIM: Final = ClaimRange()


def claim_ranges(parts: int) -> list[ClaimRange]:
    """The claim ids cut in `parts` ranges of equal width (ids are random, so
    about equally full)."""
    bounds = [UUID(int=(i * 2**128) // parts) for i in range(1, parts)]
    return [ClaimRange(lower, upper) for lower, upper in pairwise([None, *bounds, None])]


class ParallelLoad(Protocol):
    def __call__(
        self, head: int, ranges: list[ClaimRange], on_progress: Callable[[int], None]
    ) -> tuple[int, int]:
        """Loads the claims of each range into the rebuild tables, each range in a
        process of its own (`load_range`); returns the events and claims loaded."""


def rebuild(
    projector: Projector,
    *,
    on_start: Callable[[int], None] = lambda total: None,
    on_progress: Callable[[int], None] = lambda events: None,
    parallel: tuple[ParallelLoad, int] | None = None,
) -> RebuildReport:
    """Rebuilds the read models; `on_start` gets the number of events to fold,
    `on_progress` the number folded since its last call. With `parallel` (a
    loader and a number of parts), the claims are loaded in that many processes
    at once."""
    started = time.monotonic()
    store, event_log = projector.store, projector.event_log
    queries = event_log.queries
    head = event_log.head_position()
    on_start(queries.count_after(0) - queries.count_after(head))
    store.begin_rebuild()
    if parallel is None:
        events, claims = load_range(queries, store, head, EVERY_CLAIM, on_progress)
    else:
        load, parts = parallel
        events, claims = load(head, claim_ranges(parts), on_progress)
    # The rebuild tables now hold every event up to the head.
    store.index_rebuild()
    store.apply(Batch(projections=[], end=head, events=0), REBUILD)
    projector.catch_up(REBUILD)
    position = store.swap_rebuild(projector.batches)
    return RebuildReport(
        events=events, claims=claims, position=position, seconds=time.monotonic() - started
    )


def load_range(
    queries: EventQueries,
    store: ReadModels,
    head: int,
    claims: ClaimRange,
    on_progress: Callable[[int], None],
) -> tuple[int, int]:
    """Folds the claims of a range from their events up to `head` (in one
    snapshot, claim by claim) into the rebuild tables; the events and claims
    loaded."""
    counter = _Counter(on_progress)
    chunk: list[ClaimProjection] = []
    loaded = 0
    rows = counter.counted(queries.all_by_claim(head, claims.lower, claims.upper))
    for projection in _project_histories(rows):
        chunk.append(projection)
        if len(chunk) == _CLAIMS_PER_CHUNK:
            store.load_rebuild(chunk)
            loaded += len(chunk)
            chunk = []
    store.load_rebuild(chunk)
    loaded += len(chunk)
    counter.flush()
    return counter.total, loaded


def _project_histories(rows: Iterable[EventRow]) -> Iterator[ClaimProjection]:
    """The projection of each claim in rows grouped by claim, in version order."""
    for claim_id, history in groupby(rows, key=lambda row: row.claim_id):
        events = [decode_row(row) for row in history]
        yield project(
            claim_id,
            fold_all(events),
            registration=events[0],
            last_position=max(event.position for event in events),
        )


class _Counter:
    """Counts rows as they stream past, reporting every thousand."""

    def __init__(self, report: Callable[[int], None]) -> None:
        self.report = report
        self.total = 0
        self._unreported = 0

    def counted(self, rows: Iterable[EventRow]) -> Iterator[EventRow]:
        for row in rows:
            self.total += 1
            self._unreported += 1
            if self._unreported == 1000:
                self.flush()
            yield row

    def flush(self) -> None:
        if self._unreported:
            self.report(self._unreported)
            self._unreported = 0
