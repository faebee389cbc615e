"""An event as the ledger recorded it: its place, its two times, and its
fields exactly as they were stored.

This is the form every read works on (the fold, the read models, the
envelopes): stored events are decoded into it once, without validating their
payload again (it was validated when it was written), and never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.events import EventType
from ledger.times import format_instant, from_micros

__all__ = ["RecordedEvent"]


@dataclass(slots=True, eq=False)
class RecordedEvent:
    type: EventType
    claim_id: UUID
    event_id: str
    """The event's id, as stored (a UUID's canonical text)."""
    version: int
    position: int
    occurred_at_us: int
    recorded_at_us: int
    leaf_index: int
    """Its leaf in the ledger's Merkle tree (dense, in position order; not hashed)."""
    occurred_at: str
    """`occurred_at` as stored: RFC 3339 in the ledger's format."""
    actor: dict[str, Any]
    """The actor as stored: `id`, `name`, `role`."""
    data: dict[str, Any]
    """The payload as stored (upcast to today's shape): optional fields that
    were not given are absent."""
    data_salt: str
    stored_data: dict[str, Any] | None = None
    """The payload exactly as stored, where an upcaster changed its shape for
    `data` (envelopes show what was written)."""
    stored_size: int = 0
    """How many bytes it takes stored (what a cache of events counts its size by)."""
    envelope_json: bytes | None = None
    """The envelope's JSON, once an answer has needed it (the event never changes)."""
    item_json: bytes | None = None
    """The JSON of the item it begins, as a claim's state lists it, once needed."""
    recorded_at_text: str | None = None
    """`recorded_at` in the ledger's format, once needed (see `recorded_at`)."""

    @property
    def fold_key(self) -> tuple[int, int]:
        """Where the event stands in a fold: by world time, then version (SPEC §3)."""
        return (self.occurred_at_us, self.version)

    def recorded_at(self) -> str:
        """`recorded_at` as RFC 3339 in the ledger's format."""
        if self.recorded_at_text is None:
            self.recorded_at_text = format_instant(from_micros(self.recorded_at_us))
        return self.recorded_at_text

    def item_id(self) -> str | None:
        """The id of the item the event begins or ends, if any."""
        declared = self.type.declared
        kind = declared.begins or declared.ends
        if kind is None:
            return None
        item_id: str = self.data[kind.id_field]
        return item_id
