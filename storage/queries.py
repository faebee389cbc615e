"""What the ledger asks of its database, whichever backend holds it.

Each backend implements these protocols with its own SQL; everything above
them (the event log, the keys, the API) is backend-agnostic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol
from uuid import UUID

from storage.rows import ApiKeyRow, EventRow, IdempotencyRow, IdempotencyScope

__all__ = ["EventQueries", "KeyQueries"]


class EventQueries(Protocol):
    def ping(self) -> None:
        """Raises when the database cannot be reached."""

    def head(self) -> tuple[int, int] | None:
        """(position, recorded_at_us) of the newest visible event; None when empty."""

    def claim_rows(self, claim_id: UUID, recorded_until_us: int) -> list[EventRow]:
        """One claim's events recorded by that time, in version order."""

    def rows_after(self, after: int, limit: int) -> list[EventRow]:
        """Events after a position, in position order."""

    def histories(self, claim_ids: Sequence[UUID], until_position: int) -> list[EventRow]:
        """The events of those claims up to a position, by claim, in version order."""

    def all_by_claim(self, until_position: int) -> Iterator[EventRow]:
        """Every event up to a position, by claim, in version order, streamed from one
        snapshot of the store (constant memory)."""

    def count_after(self, position: int) -> int:
        """How many events there are after a position."""

    def row_by_event_id(self, event_id: UUID) -> EventRow | None: ...

    def row_by_position(self, position: int) -> EventRow | None: ...

    def idempotent_write(self, scope: IdempotencyScope) -> IdempotencyRow | None:
        """The keyed write already appended in that scope, if any."""


class KeyQueries(Protocol):
    def insert_key(self, row: ApiKeyRow) -> None: ...

    def list_keys(self) -> list[ApiKeyRow]: ...

    def find_key(self, key_id: str) -> ApiKeyRow | None: ...

    def revoke_key(self, key_id: str, revoked_at_us: int) -> bool:
        """Marks a key revoked; False when there is no such key or it was revoked already."""
