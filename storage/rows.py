"""The rows the storage adapters read and write, shared by both backends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.times import parse_instant, to_micros
from storage.mapper import decode_state

__all__ = [
    "ApiKeyRow",
    "EventRow",
    "IdempotencyRow",
    "IdempotencyScope",
    "IndexEntry",
    "index_entries",
]


@dataclass(frozen=True)
class EventRow:
    """A stored event with the place and the system time the ledger gave it."""

    position: int
    claim_id: UUID
    version: int
    topic: str
    state: bytes
    recorded_at_us: int

    def stored_event(self) -> StoredEvent:
        return StoredEvent(
            originator_id=self.claim_id,
            originator_version=self.version,
            topic=self.topic,
            state=self.state,
        )


@dataclass(frozen=True)
class IndexEntry:
    """What the event index keeps of each event, read from its stored state."""

    event_id: UUID
    claim_id: UUID
    version: int
    occurred_at_us: int


def index_entries(stored_events: Sequence[StoredEvent]) -> list[IndexEntry]:
    entries = []
    for stored in stored_events:
        state = decode_state(stored.state)
        claim_id = stored.originator_id
        entries.append(
            IndexEntry(
                event_id=UUID(state["event_id"]),
                claim_id=claim_id if isinstance(claim_id, UUID) else UUID(claim_id),
                version=stored.originator_version,
                occurred_at_us=to_micros(parse_instant(state["occurred_at"])),
            )
        )
    return entries


@dataclass(frozen=True)
class IdempotencyScope:
    """An Idempotency-Key is scoped to (API key, method, path)."""

    api_key_id: str
    method: str
    path: str
    key: str


@dataclass(frozen=True)
class IdempotencyRow:
    """A keyed write that was appended: which request it was and which event answered it."""

    scope: IdempotencyScope
    request_hash: str
    event_id: UUID | None = None


@dataclass(frozen=True)
class ApiKeyRow:
    key_id: str
    name: str
    role: str
    secret_hash: str
    created_at_us: int
    revoked_at_us: int | None
