"""The envelope: an event as the API publishes it (SPEC §2).

An envelope is made from the event exactly as it was stored, never from an
upcast payload, so that reading it back at any later time gives the same
bytes that were returned when it was written.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ledger.recorded import RecordedEvent

__all__ = ["Envelope", "envelope_fields", "envelope_of"]


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: UUID
    claim_id: UUID
    version: int = Field(description="The claim's event count, from 1, without gaps.")
    position: int = Field(description="The event's place in the whole ledger; only grows.")
    type: str = Field(examples=["RebuttalFiled"])
    occurred_at: str = Field(
        description="When it happened in the world.", json_schema_extra={"format": "date-time"}
    )
    recorded_at: str = Field(
        description="When the ledger accepted it.", json_schema_extra={"format": "date-time"}
    )
    actor: dict[str, Any] = Field(description="The authenticated caller: id, name, role.")
    data: dict[str, Any] = Field(description="The type's fields, as written.")
    data_salt: str = Field(description="Hex of the 16 random bytes salting the data hash.")
    leaf_index: int = Field(
        description="The event's leaf in the ledger's Merkle tree: 0-based, dense, in"
        " position order (not part of the leaf's hash)."
    )


def envelope_fields(event: RecordedEvent) -> dict[str, Any]:
    """The envelope's fields, in its order, as JSON values."""
    return {
        "event_id": event.event_id,
        "claim_id": str(event.claim_id),
        "version": event.version,
        "position": event.position,
        "type": event.type.declared.name,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at(),
        "actor": event.actor,
        "data": event.stored_data if event.stored_data is not None else event.data,
        "data_salt": event.data_salt,
        "leaf_index": event.leaf_index,
    }


def envelope_of(event: RecordedEvent) -> Envelope:
    """The envelope as the API declares it (validated: the reference for faster encoders)."""
    return Envelope.model_validate(envelope_fields(event))
