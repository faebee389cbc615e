"""A claim's recorded events, kept so that a fold at any pair of times folds
only what it must.

The events are kept in version order and in fold order (occurred_at, version),
with a snapshot of the fold every `SNAPSHOT_EVERY` events of fold order. A
snapshot after the first k events in fold order is the start of the fold at
(as_of S, valid_at V) whenever all of those k events qualify (recorded by S,
occurred by V): the qualifying events of any fold are a subsequence of fold
order, so they then begin with those k. Both conditions only grow harder
with k, so the latest usable snapshot is found by bisection.

A new event goes to its place in fold order (a back-dated one may land in
the middle) and drops the snapshots after that place; they are made again by
the next fold that passes them.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from ledger.claim import Claim
from ledger.recorded import RecordedEvent
from ledger.times import from_micros
from ledger.verdict import Fold

__all__ = ["SNAPSHOT_EVERY", "ClaimHistory", "VersionGap"]

SNAPSHOT_EVERY: Final = 64

# What a decoded event and a snapshot's entry cost in memory, fitted to what
# tracemalloc measured on the benchmark's claims (bench/reads.py, in
# docs/benchmarks.md): an event about twice its stored size plus its objects,
# a snapshot's entry a dict slot.
_BYTES_PER_EVENT: Final = 1_050
_BYTES_PER_STORED_BYTE: Final = 2
_BYTES_PER_SNAPSHOT_ENTRY: Final = 120

_LAST: Final = 2**63
"""Past every version, for bisecting fold keys by world time alone."""


class VersionGap(Exception):
    """Raised when events are added that do not continue a history's versions."""


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The fold of the first `(i + 1) * SNAPSHOT_EVERY` events in fold order,
    but for its timeline: the running fold's timeline up to `timeline_length`."""

    folded: Fold
    timeline_length: int


class ClaimHistory:
    def __init__(self, claim_id: UUID) -> None:
        self.claim_id = claim_id
        self.events: list[RecordedEvent] = []
        """Version order: `events[v - 1]` is version v."""
        self._order: list[RecordedEvent] = []
        self._keys: list[tuple[int, int]] = []
        """The fold keys of `_order`, for bisection."""
        self._max_recorded: list[int] = []
        """`_max_recorded[i]`: the latest recorded_at among `_order[: i + 1]`."""
        self._min_recorded: list[int] = []
        """`_min_recorded[i]`: the earliest recorded_at among `_order[i:]`."""
        self._snapshots: list[_Snapshot] = []
        self._running = Fold()
        """The fold of the events up to the last snapshot's end: the next
        snapshot continues it, and its timeline is every snapshot's."""
        self._head: Fold | None = None
        """The fold of every event (as of the last, unbounded in world time),
        kept up to date while events come in at the end of fold order."""
        self._claim: Claim | None = None
        self._stored_bytes = 0
        self._snapshot_entries = 0

    @property
    def version(self) -> int:
        return len(self.events)

    @property
    def snapshots(self) -> int:
        return len(self._snapshots)

    def size_estimate(self) -> int:
        """About how many bytes the history takes in memory."""
        return (
            _BYTES_PER_EVENT * len(self.events)
            + _BYTES_PER_STORED_BYTE * self._stored_bytes
            + _BYTES_PER_SNAPSHOT_ENTRY * self._snapshot_entries
            + (_BYTES_PER_SNAPSHOT_ENTRY * _entries(self._head) if self._head else 0)
        )

    def add(self, events: Iterable[RecordedEvent], claim: Claim | None = None) -> None:
        """Adds the events that follow the history's last version (in version
        order); ones it already has are skipped. Raises VersionGap (adding
        none from the gap on) when a version is missing. `claim`, when given,
        is the aggregate those events left (the writer's): kept as is."""
        for event in events:
            if event.version <= len(self.events):
                continue
            if event.version != len(self.events) + 1:
                raise VersionGap(
                    f"claim {self.claim_id}: version {event.version} after {len(self.events)}"
                )
            self._add(event, follow_claim=claim is None)
        if claim is not None and claim.version == len(self.events):
            claim.collect_events()  # saved: the aggregate holds none pending
            self._claim = claim

    def _add(self, event: RecordedEvent, *, follow_claim: bool = True) -> None:
        self.events.append(event)
        self._stored_bytes += event.stored_size
        key = event.fold_key
        place = bisect_right(self._keys, key)
        self._keys.insert(place, key)
        self._order.insert(place, event)
        # A later version was recorded after every event the history has, so
        # its recorded_at is the latest from its place on.
        self._max_recorded.insert(place, event.recorded_at_us)
        for i in range(place + 1, len(self._max_recorded)):
            self._max_recorded[i] = event.recorded_at_us
        # ... and it changes no earliest one after any place but its own.
        after = self._min_recorded[place] if place < len(self._min_recorded) else None
        self._min_recorded.insert(place, after if after is not None else event.recorded_at_us)
        if place < len(self._snapshots) * SNAPSHOT_EVERY:
            self._drop_snapshots(place // SNAPSHOT_EVERY)
        if self._head is not None:
            if place == len(self._order) - 1:
                self._head.apply(event)
            else:
                self._head = None  # back-dated: folded again when next asked for
        if not follow_claim:
            self._claim = None
        elif self._claim is not None:
            item_id = event.item_id()
            self._claim.took(
                event.type,
                UUID(item_id) if item_id is not None else None,
                from_micros(event.occurred_at_us),
            )
            self._claim.version = event.version

    def _drop_snapshots(self, kept: int) -> None:
        if kept == 0:
            self._running = Fold()
        else:
            last = self._snapshots[kept - 1]
            self._running = last.folded.copy(self._running.timeline[: last.timeline_length])
        for dropped in self._snapshots[kept:]:
            self._snapshot_entries -= _entries(dropped.folded)
        del self._snapshots[kept:]

    # --- folding ----------------------------------------------------------------

    def fold(self, as_of_us: int, valid_at_us: int | None) -> Fold:
        """The fold of the events recorded by `as_of_us` that occurred by
        `valid_at_us` (unbounded when None); it may lack the registration."""
        everything = (
            valid_at_us is None and bool(self._max_recorded) and as_of_us >= self._max_recorded[-1]
        )
        if everything and self._head is not None:
            return self._head.copy()
        folded = self._fold(as_of_us, valid_at_us)
        if everything:
            self._head = folded.copy()
        return folded

    def _fold(self, as_of_us: int, valid_at_us: int | None) -> Fold:
        whole = bisect_right(self._max_recorded, as_of_us)
        if valid_at_us is not None:
            whole = min(whole, bisect_right(self._keys, (valid_at_us, _LAST)))
        # Every event of `_order[:whole]` qualifies.
        wanted = whole // SNAPSHOT_EVERY
        while len(self._snapshots) < wanted:
            self._snapshot_next()
        if wanted:
            last = self._snapshots[wanted - 1]
            folded = last.folded.copy(self._running.timeline[: last.timeline_length])
        else:
            folded = Fold()
        order = self._order
        start = wanted * SNAPSHOT_EVERY
        for i in range(start, whole):
            folded.apply(order[i])
        earliest = self._min_recorded
        for i in range(max(start, whole), len(order)):
            event = order[i]
            if earliest[i] > as_of_us:
                break  # nothing from here on was recorded by then
            if valid_at_us is not None and event.occurred_at_us > valid_at_us:
                break  # fold order is world-time order: nothing after it occurred in time
            if event.recorded_at_us <= as_of_us:
                folded.apply(event)
        return folded

    def _snapshot_next(self) -> None:
        start = len(self._snapshots) * SNAPSHOT_EVERY
        running = self._running
        for event in self._order[start : start + SNAPSHOT_EVERY]:
            running.apply(event)
        snapshot = _Snapshot(running.copy([]), len(running.timeline))
        self._snapshots.append(snapshot)
        self._snapshot_entries += _entries(snapshot.folded)

    # --- the aggregate --------------------------------------------------------------

    def claim(self) -> Claim:
        """A copy of the claim as its history leaves it, to run commands on."""
        if self._claim is None:
            self._claim = Claim.from_history(self.claim_id, self.events)
        return copy.deepcopy(self._claim)


def _entries(folded: Fold) -> int:
    return len(folded.verifications) + len(folded.rebuttals) + len(folded.evidence) + 1
