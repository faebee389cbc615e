"""The leaf of an event (SPEC §6), worked by hand: the payload hashed apart with
its salt, the envelope's other keys as RFC 8785 JSON, behind a 0x00."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from uuid import UUID

from ledger.events import EventType
from ledger.leaves import data_hash, event_leaf_hash, leaf_entry
from ledger.recorded import RecordedEvent

EVENT = RecordedEvent(
    type=EventType.REBUTTAL_FILED,
    claim_id=UUID("0b7e9a52-6c1d-4f0e-9d51-5a4f2f3c8e11"),
    event_id="5d1b6a3e-2f0c-4c8e-9a7b-1e2d3c4b5a69",
    version=2,
    position=1042,
    occurred_at_us=0,
    recorded_at_us=1_795_600_800_123_456,
    leaf_index=7,
    occurred_at="2023-01-13T09:00:00.000000Z",
    actor={"role": "checker", "id": "k1", "name": "Zoë"},
    data={"statement": "Not so.", "party": {"name": "Wagner"}, "rebuttal_id": "r-1"},
    data_salt="000102030405060708090a0b0c0d0e0f",
)

# The payload in RFC 8785 form: keys sorted, no spaces, non-ASCII as UTF-8.
DATA_JSON = b'{"party":{"name":"Wagner"},"rebuttal_id":"r-1","statement":"Not so."}'
DATA_HASH = "7f672ae1538b6277eb8807ce3ee47c35a35a9df83c192ee4a67e25a50ec67618"
ENTRY = (
    '{"actor":{"id":"k1","name":"Zo\u00eb","role":"checker"},'
    '"claim_id":"0b7e9a52-6c1d-4f0e-9d51-5a4f2f3c8e11",'
    f'"data_hash":"{DATA_HASH}",'
    '"event_id":"5d1b6a3e-2f0c-4c8e-9a7b-1e2d3c4b5a69",'
    '"occurred_at":"2023-01-13T09:00:00.000000Z",'
    '"position":1042,'
    '"recorded_at":"2026-11-25T10:00:00.123456Z",'
    '"type":"RebuttalFiled",'
    '"version":2}'
).encode()
LEAF_HASH = "3d2d62b294add6a9e1a760ab385336f3aa3d68e21551a0c973ca4839ef30503d"


def test_the_data_hash_is_the_salted_hash_of_the_canonical_payload() -> None:
    assert hashlib.sha256(bytes(range(16)) + DATA_JSON).hexdigest() == DATA_HASH
    assert data_hash(EVENT.data_salt, EVENT.data) == DATA_HASH


def test_the_leaf_entry_is_the_canonical_json_of_the_envelope_with_the_data_hash() -> None:
    assert leaf_entry(EVENT) == ENTRY


def test_the_leaf_hash_is_sha256_of_0x00_and_the_entry() -> None:
    assert event_leaf_hash(EVENT) == hashlib.sha256(b"\x00" + ENTRY).digest()
    assert event_leaf_hash(EVENT).hex() == LEAF_HASH


def test_the_leaf_index_is_not_hashed_and_every_other_key_is() -> None:
    moved = RecordedEvent(**{**_fields(EVENT), "leaf_index": 8})
    assert event_leaf_hash(moved) == event_leaf_hash(EVENT)
    for changed in (
        {"version": 3},
        {"position": 1043},
        {"recorded_at_us": EVENT.recorded_at_us + 1},
        {"occurred_at": "2023-01-13T09:00:00.000001Z"},
        {"actor": {**EVENT.actor, "role": "editor"}},
        {"data": {**EVENT.data, "statement": "Not so!"}},
        {"data_salt": "ff" + EVENT.data_salt[2:]},
    ):
        assert event_leaf_hash(RecordedEvent(**{**_fields(EVENT), **changed})) != event_leaf_hash(
            EVENT
        ), changed


def _fields(event: RecordedEvent) -> dict[str, object]:
    """The event's own fields, without what it caches once needed."""
    cached = {"envelope_json", "item_json", "recorded_at_text"}
    return {f.name: getattr(event, f.name) for f in fields(event) if f.name not in cached}
