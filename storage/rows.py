"""The rows the storage adapters read and write, shared by both backends."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent

__all__ = [
    "ApiKeyRow",
    "Appended",
    "EventRow",
    "IdempotencyRow",
    "IdempotencyScope",
    "NewEvent",
]


@dataclass(frozen=True, slots=True)
class EventRow:
    """A stored event with the place and the times the ledger gave it."""

    position: int
    claim_id: UUID
    version: int
    topic: str
    state: bytes
    recorded_at_us: int
    occurred_at_us: int
    leaf_index: int

    def stored_event(self) -> StoredEvent:
        return StoredEvent(
            originator_id=self.claim_id,
            originator_version=self.version,
            topic=self.topic,
            state=self.state,
        )


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: as stored, and what the event index keeps of it."""

    stored: StoredEvent
    event_id: UUID
    occurred_at_us: int

    @property
    def claim_id(self) -> UUID:
        claim_id = self.stored.originator_id
        return claim_id if isinstance(claim_id, UUID) else UUID(claim_id)

    @property
    def version(self) -> int:
        return self.stored.originator_version


@dataclass(frozen=True, slots=True)
class Appended:
    """Where an appended event went, and when the ledger recorded it."""

    event_id: UUID
    position: int
    recorded_at_us: int
    leaf_index: int
    """Its leaf in the ledger's Merkle tree: dense, in position order (SPEC §6)."""


@dataclass(frozen=True, slots=True)
class IdempotencyScope:
    """An Idempotency-Key is scoped to (API key, method, path)."""

    api_key_id: str
    method: str
    path: str
    key: str


@dataclass(frozen=True, slots=True)
class IdempotencyRow:
    """A keyed write that was appended: which request it was and which event answered it."""

    scope: IdempotencyScope
    request_hash: str
    event_id: UUID | None = None


@dataclass(frozen=True)
class SessionRow:
    """A page session: only the hash of its token is kept, with the key it was
    signed in with and when it ends."""

    token_hash: str
    key_id: str
    created_at_us: int
    expires_at_us: int


@dataclass(frozen=True)
class ApiKeyRow:
    key_id: str
    name: str
    role: str
    secret_hash: str
    created_at_us: int
    revoked_at_us: int | None
