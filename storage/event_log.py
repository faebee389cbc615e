"""The ledger's events read back in position order, decoded for the read paths."""

from __future__ import annotations

from uuid import UUID

from ledger.errors import EventNotFound
from ledger.recorded import RecordedEvent
from storage.mapper import decode_row
from storage.queries import EventQueries

__all__ = ["EventLog"]


class EventLog:
    def __init__(self, queries: EventQueries) -> None:
        self.queries = queries

    def head_position(self) -> int:
        head = self.queries.head()
        return head.position if head else 0

    def by_event_id(self, event_id: UUID) -> RecordedEvent:
        row = self.queries.row_by_event_id(event_id)
        if row is None:
            raise EventNotFound(event_id)
        return decode_row(row)

    def page(self, after: int, limit: int) -> list[RecordedEvent]:
        return [decode_row(row) for row in self.queries.rows_after(after, limit)]
