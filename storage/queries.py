"""What the ledger asks of its database, whichever backend holds it.

Each backend implements these protocols with its own SQL; everything above
them (the writer, the histories, the keys, the API) is backend-agnostic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from storage.rows import (
    ApiKeyRow,
    Appended,
    EventRow,
    IdempotencyRow,
    IdempotencyScope,
    NewEvent,
    SessionRow,
)

__all__ = ["ClaimReader", "ClaimRows", "EventAppender", "EventQueries", "Head", "KeyQueries"]


@dataclass(frozen=True, slots=True)
class Head:
    """The newest visible event: its position and its `recorded_at`, the ledger's
    stable time (no event recorded at or before it can appear later)."""

    position: int
    recorded_at_us: int


@dataclass(frozen=True, slots=True)
class ClaimRows:
    """A claim's events after a version, read in one snapshot with the head:
    every event of the claim at or before the head is among them."""

    head: Head | None
    rows: list[EventRow]


class EventAppender(Protocol):
    def append(self, events: Sequence[NewEvent], keys: Sequence[IdempotencyRow]) -> list[Appended]:
        """Appends the events and the keyed writes in one transaction; raises one
        of `storage.errors` when it does not."""

    def find_appended(
        self, event_ids: Sequence[UUID], session: int | None, within: float
    ) -> list[Appended]:
        """After an unknown outcome: the events among these that were appended;
        the database's error when it cannot tell within about `within` seconds."""


class EventQueries(Protocol):
    def ping(self) -> None:
        """Raises when the database cannot be reached."""

    def head(self) -> Head | None:
        """The newest visible event; None when the ledger is empty."""

    def claim_rows(self, claim_id: UUID, after_version: int) -> ClaimRows: ...

    def claims_rows(self, claim_ids: Sequence[UUID], until_position: int) -> list[EventRow]:
        """The events of those claims up to a position, by claim, in version order."""

    def claim_versions(self, claim_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The newest version of each of those claims that has events."""

    def rows_after(self, after: int, limit: int) -> list[EventRow]:
        """Events after a position, in position order."""

    def all_by_claim(
        self, until_position: int, lower: UUID | None = None, upper: UUID | None = None
    ) -> Iterator[EventRow]:
        """Every event up to a position (of the claims from `lower`, inclusive, to
        `upper`, exclusive, where given), by claim, in version order, streamed
        from one snapshot of the store (constant memory)."""

    def rows_from_leaf(self, leaf_index: int, limit: int) -> list[EventRow]:
        """Events from a leaf index on, in leaf (and position) order."""

    def count_after(self, position: int) -> int:
        """How many events there are after a position."""

    def row_by_event_id(self, event_id: UUID) -> EventRow | None: ...

    def rows_by_event_ids(self, event_ids: Sequence[UUID]) -> list[EventRow]:
        """The events among these that the ledger holds, in no particular order."""

    def idempotent_writes(
        self, scopes: Sequence[IdempotencyScope]
    ) -> dict[IdempotencyScope, IdempotencyRow]:
        """The keyed writes already appended in those scopes."""


class KeyQueries(Protocol):
    def insert_key(self, row: ApiKeyRow) -> None: ...

    def list_keys(self) -> list[ApiKeyRow]: ...

    def find_key(self, key_id: str) -> ApiKeyRow | None: ...

    def revoke_key(self, key_id: str, revoked_at_us: int) -> bool:
        """Marks a key revoked; False when there is no such key or it was revoked already."""

    def generation(self) -> int:
        """A number that changes whenever a key is made or revoked."""

    def insert_session(self, row: SessionRow) -> None: ...

    def find_session(self, token_hash: str, now_us: int) -> ApiKeyRow | None:
        """The key of a session that has not ended (expired, signed out, or its key
        revoked); None otherwise."""

    def delete_session(self, token_hash: str) -> None: ...

    def delete_sessions_ended(self, now_us: int) -> int:
        """Removes the sessions that expired; how many."""


class ClaimReader(Protocol):
    """`EventQueries.claim_rows` for the event loop: it never blocks it for long."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def claim_rows(self, claim_id: UUID, after_version: int) -> ClaimRows: ...
