"""Point-in-time reads of one claim, and the ledger's event feed.

Every claim read folds that claim's own events (and no others) as of a
system time and valid at a world time. `as_of` is clamped to the ledger's
stable time, the newest visible `recorded_at`, and echoed: an answer for an
echoed `as_of` never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger.envelope import Envelope
from ledger.errors import ClaimNotFound
from ledger.times import from_micros, to_micros
from ledger.verdict import ClaimFold, ClaimState, VerdictChange, fold
from storage.event_log import EventLog
from storage.rows import EventRow

__all__ = ["ClaimHistory", "ClaimReads", "TimeWindow"]


@dataclass(frozen=True)
class TimeWindow:
    """The two times an answer was computed at, as used (and echoed)."""

    as_of: datetime
    valid_at: datetime | None


@dataclass(frozen=True)
class ClaimHistory:
    window: TimeWindow
    envelopes: list[Envelope]


class ClaimReads:
    def __init__(self, log: EventLog) -> None:
        self.log = log

    def state(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> ClaimState:
        return self._fold(claim_id, as_of, valid_at)[0].state

    def timeline(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> tuple[TimeWindow, list[VerdictChange]]:
        folded, _ = self._fold(claim_id, as_of, valid_at)
        return _window(folded), folded.timeline

    def history(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> ClaimHistory:
        folded, rows = self._fold(claim_id, as_of, valid_at)
        versions = {recorded.version for recorded in folded.events}
        return ClaimHistory(
            window=_window(folded),
            envelopes=[self.log.envelope(row) for row in rows if row.version in versions],
        )

    def _fold(
        self, claim_id: UUID, as_of: datetime | None, valid_at: datetime | None
    ) -> tuple[ClaimFold, list[EventRow]]:
        head = self.log.queries.head()
        if head is None:
            raise ClaimNotFound(claim_id)
        stable_us = head[1]
        as_of_us = stable_us if as_of is None else min(to_micros(as_of), stable_us)
        rows = self.log.queries.claim_rows(claim_id, as_of_us)
        if not rows and as_of is None:
            raise ClaimNotFound(claim_id)
        folded = fold(
            claim_id,
            [self.log.recorded(row) for row in rows],
            as_of=from_micros(as_of_us),
            valid_at=valid_at,
        )
        return folded, rows


def _window(folded: ClaimFold) -> TimeWindow:
    return TimeWindow(as_of=folded.state.as_of, valid_at=folded.state.valid_at)
