"""A write as the write path takes it: one event to append, who asks, and the
conditions it holds under. The API, the seeds and the command line all make
these and hand them to the writer (`factledger.writer`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger.access import Actor
from ledger.envelope import Envelope, envelope_of
from ledger.events import EventType
from ledger.fields import FrozenModel
from ledger.recorded import RecordedEvent
from storage.rows import IdempotencyRow

IdempotencyKey = IdempotencyRow
"""An Idempotency-Key in its scope, with the request's fingerprint (`idempotency_key`)."""

__all__ = ["Command", "IdempotencyKey", "IfMatch", "Written"]


@dataclass(frozen=True)
class IfMatch:
    """An `If-Match` condition: `*`, or the versions the claim may be at."""

    versions: frozenset[int] = frozenset()
    any_version: bool = False

    def allows(self, current_version: int | None) -> bool:
        if current_version is None:
            return False
        return self.any_version or current_version in self.versions


@dataclass(frozen=True)
class Command:
    event_type: EventType
    payload: FrozenModel
    """What the caller gives: `event_type.declared.payload`."""
    actor: Actor
    received_at: datetime
    claim_id: UUID | None = None
    """None only for a registration whose claim id the ledger makes."""
    item_id: UUID | None = None
    """The item an ending event ends."""
    occurred_at: datetime | None = None
    if_match: IfMatch | None = None
    idempotency: IdempotencyKey | None = None
    """The Idempotency-Key's scope and the request's fingerprint (no event id yet)."""


@dataclass(frozen=True)
class Written:
    event: RecordedEvent
    replayed: bool = False
    """True when an Idempotency-Key retry got the first answer again."""

    @property
    def envelope(self) -> Envelope:
        return envelope_of(self.event)
