"""`factledger export` and `GET /events/export`: every event envelope, as NDJSON.

The export is the ledger as it stood when it began: every event up to the
head it read first (a gap in positions is never filled later, so that is a
fixed set), one envelope per line in position order, exactly as the API
returns it. It is read page by page, so it takes the same memory whatever
the ledger's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import orjson

from ledger.envelope import envelope_fields
from ledger.recorded import RecordedEvent
from storage.event_log import EventLog

__all__ = ["EXPORT_PAGE", "NDJSON", "Export", "ndjson_line", "plan_export"]

EXPORT_PAGE: Final = 1000
"""Events read at once."""
NDJSON: Final = "application/x-ndjson"


def ndjson_line(event: RecordedEvent) -> bytes:
    """An event's envelope as one line of NDJSON (the API's bytes, and a newline)."""
    return orjson.dumps(envelope_fields(event)) + b"\n"


@dataclass(frozen=True)
class Export:
    """What an export holds: every event up to `until`."""

    log: EventLog
    until: int
    """The newest position when the export began."""
    events: int
    """How many events that is (for progress)."""

    def envelopes(self) -> Iterator[RecordedEvent]:
        after = 0
        while after < self.until:
            page = self.log.page(after, EXPORT_PAGE)
            for event in page:
                if event.position > self.until:
                    return
                yield event
            if not page:
                return
            after = page[-1].position

    def lines(self) -> Iterator[bytes]:
        for event in self.envelopes():
            yield ndjson_line(event)


def plan_export(log: EventLog) -> Export:
    head = log.head_position()
    queries = log.queries
    return Export(log, head, queries.count_after(0) - queries.count_after(head))
