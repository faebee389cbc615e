"""The envelope: an event as the API publishes it (SPEC §2).

An envelope is made from the event exactly as it was stored, never from an
upcast domain object, so that reading it back at any later time gives the
same bytes that were returned when it was written.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Envelope"]


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
