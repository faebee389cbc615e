"""The leaf of each event in the ledger's Merkle tree (SPEC §6).

A leaf commits to the event's envelope without its payload: the payload is
hashed apart, salted with the event's own 16 random bytes, as `data_hash`.
The payload and its salt could thus be erased one day while every proof
still verifies, and the hash of a short payload cannot be guessed. The leaf
index is where the leaf stands, not part of what it commits to.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from ledger.merkle import leaf_hash
from ledger.recorded import RecordedEvent

__all__ = ["data_hash", "event_leaf_hash", "leaf_entry"]


def data_hash(data_salt: str, data: dict[str, Any]) -> str:
    """Lowercase hex of SHA-256(salt ‖ RFC 8785 JSON of the payload)."""
    return hashlib.sha256(bytes.fromhex(data_salt) + rfc8785.dumps(data)).hexdigest()


def leaf_entry(event: RecordedEvent) -> bytes:
    """The RFC 8785 JSON the leaf hashes: the envelope's keys but `data`,
    `data_salt` and `leaf_index`, with `data_hash`."""
    stored_data = event.stored_data if event.stored_data is not None else event.data
    return rfc8785.dumps(
        {
            "event_id": event.event_id,
            "claim_id": str(event.claim_id),
            "version": event.version,
            "position": event.position,
            "type": event.type.declared.name,
            "occurred_at": event.occurred_at,
            "recorded_at": event.recorded_at(),
            "actor": event.actor,
            "data_hash": data_hash(event.data_salt, stored_data),
        }
    )


def event_leaf_hash(event: RecordedEvent) -> bytes:
    """SHA-256(0x00 ‖ the leaf's entry)."""
    return leaf_hash(leaf_entry(event))
