"""What the projector, the rebuild and the API ask of a read-model store,
whichever backend holds it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ledger.verdict import Verdict
from projections.records import ChangeRecord, ClaimProjection, ClaimRecord

__all__ = [
    "LIVE",
    "READ_MODELS",
    "REBUILD",
    "Batch",
    "ChangeFilter",
    "ChangeKey",
    "ClaimFilter",
    "ReadModels",
    "TableSet",
    "changes_start",
]

READ_MODELS: Final = ("claims", "verdict_changes")
"""The read models, as `/readyz` names them. They are written together, in one
transaction with one tracking record, so they always stand at the same position."""


@dataclass(frozen=True)
class TableSet:
    """One generation of the read-model tables and the name its position is tracked under."""

    suffix: str
    tracking_name: str

    def table(self, base: str) -> str:
        return base + self.suffix


LIVE: Final = TableSet("", "read_models")
REBUILD: Final = TableSet("__rebuild", "read_models__rebuild")


@dataclass(frozen=True)
class Batch:
    """The new rows of the claims some events touched, and the last of those events' positions."""

    projections: Sequence[ClaimProjection]
    end: int
    events: int


_BEFORE_ANY: Final = (-(2**63), 0)


def changes_start(projection: ClaimProjection) -> tuple[int, int]:
    """From which fold key (occurred_at_us, version) on a projection replaces the
    claim's timeline rows."""
    return projection.changes_from or _BEFORE_ANY


@dataclass(frozen=True)
class ClaimFilter:
    verdict: Verdict | None = None
    claimant: str | None = None
    tag: str | None = None
    words: tuple[str, ...] = ()
    verified: bool = False
    """Only claims on which a verification stands."""


@dataclass(frozen=True)
class ChangeFilter:
    since_us: int | None = None
    """Inclusive."""
    until_us: int | None = None
    """Exclusive."""
    to: Verdict | None = None
    actor_id: str | None = None


@dataclass(frozen=True, order=True)
class ChangeKey:
    """Where a change stands in `GET /changes` order (newest `occurred_at` first)."""

    occurred_at_us: int
    position: int


class ReadModels(Protocol):
    def create_tables(self) -> None:
        """Creates the live tables when they do not exist yet."""

    def position(self, tables: TableSet = LIVE) -> int:
        """The position of the last event applied to those tables (0 before the first)."""

    def apply(self, batch: Batch, tables: TableSet = LIVE) -> None:
        """Replaces the batch's claims' rows and advances the tracked position to
        `batch.end`, in one transaction. Raises `IntegrityError` (and writes
        nothing) when the tables are already at or past `batch.end`."""

    def claims(self, where: ClaimFilter, before: int | None, limit: int) -> list[ClaimRecord]:
        """Claims newest registration first, registered before position `before` when given."""

    def changes(
        self, where: ChangeFilter, before: ChangeKey | None, limit: int
    ) -> list[ChangeRecord]:
        """Verdict changes newest first, strictly after `before` in that order when given."""

    def begin_rebuild(self) -> None:
        """Drops what an earlier, unfinished rebuild left and creates empty rebuild tables."""

    def load_rebuild(self, projections: Sequence[ClaimProjection]) -> None:
        """Adds claims (none of them there yet) to the rebuild tables."""

    def index_rebuild(self) -> None:
        """Indexes the loaded rebuild tables (at once: faster than row by row) and
        gathers the planner's statistics, so that they go live with good plans."""

    def swap_rebuild(self, pending: Callable[[int], Iterable[Batch]]) -> int:
        """In one transaction that the live projector waits for: applies `pending(p)`
        to the rebuild tables at position p, then makes them the live ones. Returns
        their position."""
