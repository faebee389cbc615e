"""Each process's decoded claim histories, kept in memory within a budget.

A claim's events never change once recorded, so a history decoded once is
only ever extended: by the rows another process appended (read with the
ledger's head, `storage.queries.ClaimRows`), or by this process's own writes
as they commit. Each history remembers the head it was last read with
(`synced`): every event of the claim at or before it is in the history, so a
read as of a time no later than that head's `recorded_at` needs no database
at all, and any other read fetches only the rows it lacks.

The least recently used histories are dropped when the estimated size passes
the budget. Every method is safe to call from any thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar
from uuid import UUID

from ledger.claim import Claim
from ledger.history import ClaimHistory, VersionGap
from ledger.recorded import RecordedEvent
from storage.mapper import decode_row
from storage.queries import ClaimRows, Head

__all__ = ["DEFAULT_BUDGET_BYTES", "CacheReport", "Histories"]

DEFAULT_BUDGET_BYTES: Final = 256 * 1024 * 1024


T = TypeVar("T")


@dataclass
class _Entry:
    history: ClaimHistory
    synced: Head
    size: int = 0
    events: int = 0


@dataclass(frozen=True)
class CacheReport:
    claims: int
    events: int
    size_bytes: int
    budget_bytes: int
    hits: int
    misses: int


@dataclass
class _Counters:
    hits: int = 0
    misses: int = 0
    events: int = 0


class Histories:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[UUID, _Entry] = OrderedDict()
        self._size = 0
        self._counters = _Counters()
        self._lock = threading.Lock()

    def report(self) -> CacheReport:
        with self._lock:
            return CacheReport(
                claims=len(self._entries),
                events=self._counters.events,
                size_bytes=self._size,
                budget_bytes=self.budget_bytes,
                hits=self._counters.hits,
                misses=self._counters.misses,
            )

    def synced(self, claim_id: UUID) -> tuple[int, Head] | None:
        """The version a claim's history holds and the head it was read with;
        None when the history is not kept."""
        with self._lock:
            entry = self._entries.get(claim_id)
            if entry is None:
                self._counters.misses += 1
                return None
            self._counters.hits += 1
            self._entries.move_to_end(claim_id)
            return entry.history.version, entry.synced

    def use(self, claim_id: UUID, use: Callable[[ClaimHistory], T]) -> T | None:
        """`use(history)` while nothing else touches it; None when it is not kept."""
        with self._lock:
            entry = self._entries.get(claim_id)
            if entry is None:
                return None
            result = use(entry.history)
            self._resize(entry)
            return result

    def read(
        self,
        claim_id: UUID,
        claim_rows: ClaimRows,
        use: Callable[[ClaimHistory], T],
        after_version: int = 0,
    ) -> T | None:
        """Extends a claim's history with rows read from the database after
        `after_version` (decoded here), then `use(history)`; None when the claim
        has no events.

        Raises VersionGap when the rows do not follow what is kept (they were
        read after a version of a history dropped meanwhile, even none of them):
        read them again from the first version."""
        if claim_rows.head is None:
            return None
        new = [decode_row(row) for row in claim_rows.rows]
        with self._lock:
            entry = self._entries.get(claim_id)
            if entry is None:
                if not new:
                    if after_version:
                        raise VersionGap(f"claim {claim_id}: dropped since version {after_version}")
                    return None
                history = ClaimHistory(claim_id)
                history.add(new)  # raises VersionGap unless they start at version 1
                entry = _Entry(history, claim_rows.head)
                self._entries[claim_id] = entry
            else:
                entry.history.add(new)
            if claim_rows.head.position >= entry.synced.position:
                entry.synced = claim_rows.head
            self._entries.move_to_end(claim_id)
            result = use(entry.history)
            self._resize(entry)
            self._evict()
            return result

    def written(self, events: Sequence[RecordedEvent], claims: Mapping[UUID, Claim]) -> None:
        """This process's own events, just committed: added to the histories that
        hold every version before them, with the aggregates they left."""
        with self._lock:
            for claim_id, claim_events in _by_claim(events):
                entry = self._entries.get(claim_id)
                first = claim_events[0]
                if entry is None:
                    if first.version != 1:
                        continue
                    entry = _Entry(ClaimHistory(claim_id), Head(0, 0))
                    self._entries[claim_id] = entry
                if entry.history.version < first.version - 1:
                    continue  # another process's events lie between: read them first
                entry.history.add(claim_events, claims.get(claim_id))
                # Every event of the claim up to the last one written is here now
                # (a version is taken by exactly one event, in version order).
                last = claim_events[-1]
                if last.position > entry.synced.position:
                    entry.synced = Head(last.position, last.recorded_at_us)
                self._resize(entry)
            self._evict()

    def replace(self, claim_id: UUID, events: Sequence[RecordedEvent]) -> None:
        """Keeps these events (from the first version) as the claim's whole history,
        read with no known head (for a reader that never asks `synced`'s head)."""
        history = ClaimHistory(claim_id)
        history.add(events)
        with self._lock:
            self._drop(claim_id)
            entry = _Entry(history, Head(0, 0))
            self._entries[claim_id] = entry
            self._resize(entry)
            self._evict()

    def forget(self, claim_ids: Iterable[UUID]) -> None:
        with self._lock:
            for claim_id in claim_ids:
                self._drop(claim_id)

    def _drop(self, claim_id: UUID) -> None:
        entry = self._entries.pop(claim_id, None)
        if entry is not None:
            self._size -= entry.size
            self._counters.events -= entry.events

    def _resize(self, entry: _Entry) -> None:
        size = entry.history.size_estimate()
        self._size += size - entry.size
        self._counters.events += entry.history.version - entry.events
        entry.size, entry.events = size, entry.history.version

    def _evict(self) -> None:
        while self._size > self.budget_bytes and len(self._entries) > 1:
            _, entry = self._entries.popitem(last=False)
            self._size -= entry.size
            self._counters.events -= entry.events


def _by_claim(events: Sequence[RecordedEvent]) -> list[tuple[UUID, list[RecordedEvent]]]:
    grouped: dict[UUID, list[RecordedEvent]] = {}
    for event in events:
        grouped.setdefault(event.claim_id, []).append(event)
    return list(grouped.items())
