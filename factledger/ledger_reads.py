"""Every read a serving process answers, for its event loop: the one read
façade, beside the one writer.

Point-in-time reads of a claim go to `ClaimReads` (from memory where it
can); listings and the event log go to the database on a worker thread, so
that the event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, ParamSpec, TypeVar
from uuid import UUID

from anyio import to_thread

from factledger.histories import CacheReport, Histories
from factledger.persistence import Persistence
from factledger.reads import ClaimReads
from ledger.errors import PositionNotRecorded, Unavailable
from ledger.recorded import RecordedEvent
from projections.read_models import READ_MODELS, ChangeFilter, ChangeKey, ClaimFilter
from projections.records import ChangeRecord, ClaimRecord
from projections.runner import ProjectorRole

__all__ = ["READ_YOUR_WRITES_SECONDS", "LedgerReads", "Readiness"]

READ_YOUR_WRITES_SECONDS: Final = 5.0
READY_SECONDS: Final = 2.5
"""How long `/readyz` waits for the database: a database that does not answer
in that is not ready (an orchestrator's probe times out too)."""

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Readiness:
    """Where the ledger and its read models stand, as this process sees them."""

    position: int
    read_models: dict[str, tuple[int, int]]
    """Each read model's position and lag in events."""
    projector: ProjectorRole | None
    """This `serve`'s projector's role; None when it runs none."""
    history_cache: CacheReport


class LedgerReads:
    def __init__(
        self,
        claim: ClaimReads,
        persistence: Persistence,
        histories: Histories,
        projector_role: Callable[[], ProjectorRole | None],
    ) -> None:
        self.claim = claim
        """A claim's state, history and timeline at any time."""
        self._persistence = persistence
        self._histories = histories
        self._projector_role = projector_role
        self._checking: asyncio.Future[Readiness] | None = None

    async def head(self) -> int:
        """The ledger's newest position."""
        return await _off_loop(self._persistence.event_log.head_position)

    async def events_after(self, after: int, limit: int) -> list[RecordedEvent]:
        return await _off_loop(self._persistence.event_log.page, after, limit)

    async def event(self, event_id: UUID) -> RecordedEvent:
        return await _off_loop(self._persistence.event_log.by_event_id, event_id)

    async def claims(
        self, where: ClaimFilter, before: int | None, limit: int, min_position: int | None
    ) -> list[ClaimRecord]:
        """Claims from the read model, newest registration first; see `caught_up`."""
        await self.caught_up(min_position)
        return await _off_loop(self._persistence.read_models.claims, where, before, limit)

    async def changes(
        self, where: ChangeFilter, before: ChangeKey | None, limit: int, min_position: int | None
    ) -> list[ChangeRecord]:
        """Verdict changes from the read model, newest first; see `caught_up`."""
        await self.caught_up(min_position)
        return await _off_loop(self._persistence.read_models.changes, where, before, limit)

    async def caught_up(self, min_position: int | None) -> None:
        """Returns once the read models have applied `min_position` (read your
        writes); `Unavailable` after five seconds, `PositionNotRecorded` at once
        for a position the ledger has not reached."""
        if min_position is None:
            return
        deadline = time.monotonic() + READ_YOUR_WRITES_SECONDS
        delay = 0.005
        read_models = self._persistence.read_models
        position = await _off_loop(read_models.position)
        # The head only grows: once is enough to tell a position that cannot come.
        if position < min_position and min_position > await self.head():
            raise PositionNotRecorded(min_position)
        while position < min_position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unavailable(
                    f"The read models are at position {position}, not yet at {min_position}.",
                    retry_after=1,
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.1)
            position = await _off_loop(read_models.position)

    async def readiness(self) -> Readiness:
        """Raises the database's error when it cannot be reached, `Unavailable`
        when it does not answer within `READY_SECONDS`.

        One check at a time: while the database hangs, a check that did not
        end holds its thread, and the next callers wait on that one rather
        than take a thread each."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.ensure_future(_off_loop(self._readiness))
            self._checking.add_done_callback(_retrieved)
        done, _ = await asyncio.wait({self._checking}, timeout=READY_SECONDS)
        if not done:
            raise Unavailable(
                f"The database did not answer within {READY_SECONDS:g} seconds.", retry_after=2
            )
        return self._checking.result()

    def _readiness(self) -> Readiness:
        queries = self._persistence.events
        queries.ping()
        position = self._persistence.read_models.position()
        lag = queries.count_after(position)
        return Readiness(
            position=self._persistence.event_log.head_position(),
            read_models=dict.fromkeys(READ_MODELS, (position, lag)),
            projector=self._projector_role(),
            history_cache=self._histories.report(),
        )


def _retrieved(done: asyncio.Future[Readiness]) -> None:
    # A check whose caller left (timed out) still has its error read, once.
    if not done.cancelled():
        done.exception()


async def _off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    # anyio's thread pool, as Starlette's run_in_threadpool uses: its limit
    # (40 threads) is the one the routes had.
    return await to_thread.run_sync(lambda: function(*args, **kwargs))
