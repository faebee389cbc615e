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

from ledger.envelope import envelope_fields
from ledger.merkle import leaf_hash
from ledger.recorded import RecordedEvent

__all__ = ["data_hash", "event_leaf_hash", "leaf_entry"]


def data_hash(data_salt: str, data: dict[str, Any]) -> str:
    """Lowercase hex of SHA-256(salt ‖ RFC 8785 JSON of the payload)."""
    return hashlib.sha256(bytes.fromhex(data_salt) + rfc8785.dumps(data)).hexdigest()


def leaf_entry(event: RecordedEvent) -> bytes:
    """The RFC 8785 JSON the leaf hashes: the envelope's keys (as the API returns
    them) but `data`, `data_salt` and `leaf_index`, with `data_hash`."""
    entry = envelope_fields(event)
    data, salt = entry.pop("data"), entry.pop("data_salt")
    del entry["leaf_index"]
    entry["data_hash"] = data_hash(salt, data)
    return rfc8785.dumps(entry)


def event_leaf_hash(event: RecordedEvent) -> bytes:
    """SHA-256(0x00 ‖ the leaf's entry)."""
    return leaf_hash(leaf_entry(event))
