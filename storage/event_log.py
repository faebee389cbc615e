"""The ledger's events read back, as envelopes and as domain events.

Both are made from the same stored row: the envelope from the state exactly
as stored (so it never changes), the domain event through the mapper (so it
is upcast to today's payload shape).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Final, cast
from uuid import UUID

from eventsourcing.utils import resolve_topic

from ledger.claim import Claim
from ledger.envelope import Envelope
from ledger.errors import EventNotFound
from ledger.times import format_instant, from_micros
from ledger.verdict import RecordedEvent
from storage.mapper import EventMapper, decode_state
from storage.queries import EventQueries
from storage.rows import EventRow

__all__ = ["RECENT_EVENTS", "EventLog"]

RECENT_EVENTS: Final = 5_000
"""How many decoded events a process keeps: a few kilobytes and about fifteen
objects each, which every full garbage collection walks (about 35 ms when
full, on the machine of docs/benchmarks.md)."""


@lru_cache(maxsize=64)
def _event_type(topic: str) -> str:
    return cast(type, resolve_topic(topic)).__name__


class _RecentEvents:
    """The most recently read domain events, by position.

    An event never changes once recorded, so a cached one is never stale;
    decoding and validating it is most of the cost of a claim read.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._events: OrderedDict[int, RecordedEvent] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, position: int) -> RecordedEvent | None:
        with self._lock:
            event = self._events.get(position)
            if event is not None:
                self._events.move_to_end(position)
            return event

    def put(self, event: RecordedEvent) -> None:
        with self._lock:
            self._events[event.position] = event
            if len(self._events) > self.size:
                self._events.popitem(last=False)


class EventLog:
    def __init__(self, queries: EventQueries, mapper: EventMapper) -> None:
        self.queries = queries
        self.mapper = mapper
        self._recent = _RecentEvents(RECENT_EVENTS)

    def envelope(self, row: EventRow) -> Envelope:
        state = decode_state(row.state)
        return Envelope(
            event_id=UUID(state["event_id"]),
            claim_id=row.claim_id,
            version=row.version,
            position=row.position,
            type=_event_type(row.topic),
            occurred_at=state["occurred_at"],
            recorded_at=format_instant(from_micros(row.recorded_at_us)),
            actor=state["actor"],
            data=state["data"],
            data_salt=state["data_salt"],
        )

    def recorded(self, row: EventRow, *, cache: bool = True) -> RecordedEvent:
        """The domain event of a row; `cache=False` for a pass over many old
        events (a rebuild) that would only push the recent ones out."""
        if cached := self._recent.get(row.position):
            return cached
        event = self.mapper.to_domain_event(row.stored_event())
        assert isinstance(event, Claim.Event)
        recorded = RecordedEvent(
            event=event, position=row.position, recorded_at=from_micros(row.recorded_at_us)
        )
        if cache:
            self._recent.put(recorded)
        return recorded

    def head_position(self) -> int:
        head = self.queries.head()
        return head[0] if head else 0

    def by_event_id(self, event_id: UUID) -> Envelope:
        row = self.queries.row_by_event_id(event_id)
        if row is None:
            raise EventNotFound(event_id)
        return self.envelope(row)

    def by_position(self, position: int) -> Envelope:
        row = self.queries.row_by_position(position)
        assert row is not None, f"position {position} was just written"
        return self.envelope(row)

    def page(self, after: int, limit: int) -> list[Envelope]:
        return [self.envelope(row) for row in self.queries.rows_after(after, limit)]
