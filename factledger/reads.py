"""Point-in-time reads of one claim, from its history in memory.

A read as of a time no later than the head its history was last read with is
answered from memory alone (no event recorded by then can still appear). Any
other read first asks the database, in one statement, for the ledger's head
and the claim's rows after the version the history holds; `as_of` is then
clamped to the head's `recorded_at` (the ledger's stable time) and echoed, so
an answer for an echoed `as_of` never changes.

`astate`, `ahistory` and `atimeline` are for the event loop; `state`,
`history` and `timeline` block (the command line, tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from factledger.histories import Histories
from ledger.errors import ClaimNotFound
from ledger.history import ClaimHistory, VersionGap
from ledger.recorded import RecordedEvent
from ledger.times import from_micros, to_micros
from ledger.verdict import Change, ClaimState, Fold, not_yet_detail
from storage.queries import ClaimReader, ClaimRows, EventQueries

__all__ = ["ClaimReads", "ClaimView", "TimeWindow"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The two times an answer was computed at, as used (and echoed)."""

    as_of_us: int
    valid_at_us: int | None

    @property
    def as_of(self) -> datetime:
        return from_micros(self.as_of_us)

    @property
    def valid_at(self) -> datetime | None:
        return from_micros(self.valid_at_us) if self.valid_at_us is not None else None


@dataclass(frozen=True, slots=True)
class ClaimView:
    claim_id: UUID
    window: TimeWindow
    folded: Fold

    @property
    def state(self) -> ClaimState:
        """The state as the API declares it (validated: for tests and tools, not
        for answers, which `api.encoding` encodes straight from `folded`)."""
        return self.folded.state(
            self.claim_id, as_of=self.window.as_of, valid_at=self.window.valid_at
        )


@dataclass(frozen=True, slots=True)
class _Asked:
    claim_id: UUID
    as_of_us: int | None
    valid_at_us: int | None

    def window(self, stable_us: int) -> TimeWindow:
        as_of_us = stable_us if self.as_of_us is None else min(self.as_of_us, stable_us)
        return TimeWindow(as_of_us, self.valid_at_us)


class ClaimReads:
    def __init__(
        self, histories: Histories, queries: EventQueries, reader: ClaimReader | None = None
    ) -> None:
        self.histories = histories
        self.queries = queries
        self.reader = reader

    # --- for the event loop -----------------------------------------------------------

    async def astate(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> ClaimView:
        return await self._aread(_asked(claim_id, as_of, valid_at), _state)

    async def ahistory(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> tuple[TimeWindow, list[RecordedEvent]]:
        return await self._aread(_asked(claim_id, as_of, valid_at), _history)

    async def atimeline(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> tuple[TimeWindow, list[Change]]:
        return await self._aread(_asked(claim_id, as_of, valid_at), _timeline)

    async def _aread(
        self, asked: _Asked, answer: Callable[[_Asked, TimeWindow, ClaimHistory], T]
    ) -> T:
        from_memory = self._from_memory(asked, answer)
        if from_memory is not None:
            return from_memory
        assert self.reader is not None, "reads in the event loop need a ClaimReader"
        version = self._version(asked.claim_id)
        try:
            rows = await self.reader.claim_rows(asked.claim_id, version)
            return self._answer(asked, rows, answer, version)
        except VersionGap:  # the history was dropped meanwhile: read it whole
            return self._answer(asked, await self.reader.claim_rows(asked.claim_id, 0), answer)

    # --- blocking ---------------------------------------------------------------------------

    def state(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> ClaimView:
        return self._read(_asked(claim_id, as_of, valid_at), _state)

    def history(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> tuple[TimeWindow, list[RecordedEvent]]:
        return self._read(_asked(claim_id, as_of, valid_at), _history)

    def timeline(
        self, claim_id: UUID, *, as_of: datetime | None = None, valid_at: datetime | None = None
    ) -> tuple[TimeWindow, list[Change]]:
        return self._read(_asked(claim_id, as_of, valid_at), _timeline)

    def _read(self, asked: _Asked, answer: Callable[[_Asked, TimeWindow, ClaimHistory], T]) -> T:
        from_memory = self._from_memory(asked, answer)
        if from_memory is not None:
            return from_memory
        version = self._version(asked.claim_id)
        try:
            rows = self.queries.claim_rows(asked.claim_id, version)
            return self._answer(asked, rows, answer, version)
        except VersionGap:  # the history was dropped meanwhile: read it whole
            return self._answer(asked, self.queries.claim_rows(asked.claim_id, 0), answer)

    # --- both ---------------------------------------------------------------------------------

    def _version(self, claim_id: UUID) -> int:
        synced = self.histories.synced(claim_id)
        return synced[0] if synced is not None else 0

    def _from_memory(
        self, asked: _Asked, answer: Callable[[_Asked, TimeWindow, ClaimHistory], T]
    ) -> T | None:
        """The answer without the database, when the history is known to hold
        every event recorded by `as_of`."""
        if asked.as_of_us is None:
            return None
        synced = self.histories.synced(asked.claim_id)
        if synced is None or asked.as_of_us > synced[1].recorded_at_us:
            return None
        window = TimeWindow(asked.as_of_us, asked.valid_at_us)
        return self.histories.use(asked.claim_id, lambda history: answer(asked, window, history))

    def _answer(
        self,
        asked: _Asked,
        claim_rows: ClaimRows,
        answer: Callable[[_Asked, TimeWindow, ClaimHistory], T],
        after_version: int = 0,
    ) -> T:
        head = claim_rows.head
        if head is None:
            raise ClaimNotFound(asked.claim_id)
        window = asked.window(head.recorded_at_us)
        found = self.histories.read(
            asked.claim_id,
            claim_rows,
            lambda history: answer(asked, window, history),
            after_version,
        )
        if found is None:
            raise ClaimNotFound(asked.claim_id)
        return found


def _asked(claim_id: UUID, as_of: datetime | None, valid_at: datetime | None) -> _Asked:
    return _Asked(
        claim_id,
        to_micros(as_of) if as_of is not None else None,
        to_micros(valid_at) if valid_at is not None else None,
    )


def _folded(asked: _Asked, window: TimeWindow, history: ClaimHistory) -> Fold:
    folded = history.fold(window.as_of_us, window.valid_at_us)
    if not folded.registered:
        raise ClaimNotFound(
            asked.claim_id, not_yet_detail(asked.claim_id, window.as_of, window.valid_at)
        )
    return folded


def _state(asked: _Asked, window: TimeWindow, history: ClaimHistory) -> ClaimView:
    return ClaimView(asked.claim_id, window, _folded(asked, window, history))


def _timeline(
    asked: _Asked, window: TimeWindow, history: ClaimHistory
) -> tuple[TimeWindow, list[Change]]:
    return window, _folded(asked, window, history).timeline


def _history(
    asked: _Asked, window: TimeWindow, history: ClaimHistory
) -> tuple[TimeWindow, list[RecordedEvent]]:
    registration = history.events[0]
    valid_at_us = window.valid_at_us
    if registration.recorded_at_us > window.as_of_us or (
        valid_at_us is not None and registration.occurred_at_us > valid_at_us
    ):
        raise ClaimNotFound(
            asked.claim_id, not_yet_detail(asked.claim_id, window.as_of, window.valid_at)
        )
    return window, [
        event
        for event in history.events
        if event.recorded_at_us <= window.as_of_us
        and (valid_at_us is None or event.occurred_at_us <= valid_at_us)
    ]
