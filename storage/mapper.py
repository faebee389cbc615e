"""Turns the ledger's events into the library's stored events and back.

The stored state is plain JSON: the event's fields as pydantic writes them in
JSON mode, with optional fields that were not given left out. Reading runs
the upcasters of the event class (`class_version`, `upcast_vN_vN+1(state)`)
first, so a changed payload shape reads into today's shape while the stored
bytes stay as written.

Two ways to read: `EventMapper.to_domain_event`, the library's, validates
into the pydantic event (the reference); `decode` makes the lean
`RecordedEvent` that every read path uses, without validating again what
was validated when it was written. A test checks that both read the same.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel

from ledger.claim import ClaimEvent
from ledger.recorded import RecordedEvent
from ledger.times import parse_instant, to_micros
from storage.rows import EventRow, NewEvent

__all__ = [
    "EventMapper",
    "decode",
    "decode_row",
    "decode_state",
    "event_class",
    "new_events",
    "stored_state",
]


def decode_state(state: bytes) -> dict[str, Any]:
    """The stored state of an event as the JSON object it was written as."""
    decoded = orjson.loads(state)
    assert isinstance(decoded, dict)
    return decoded


@cache
def event_class(topic: str) -> type[ClaimEvent]:
    found = resolve_topic(topic)
    assert isinstance(found, type), topic
    assert issubclass(found, ClaimEvent), topic
    return found


def _upcast(cls: type[ClaimEvent], state: dict[str, Any]) -> dict[str, Any]:
    """The state in the shape of today's class (a copy, when an upcaster ran)."""
    from_version = state.pop("class_version", 1)
    to_version = getattr(cls, "class_version", 1)
    if from_version == to_version:
        return state
    state = copy.deepcopy(state)
    for version in range(from_version, to_version):
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
    return state


def stored_state(event: ClaimEvent) -> dict[str, Any]:
    """What is stored of an event, as a JSON object."""
    state = event.model_dump(mode="json", exclude_none=True)
    del state["originator_id"], state["originator_version"]
    class_version = getattr(type(event), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    return state


def decode(
    *,
    topic: str,
    claim_id: UUID,
    version: int,
    position: int,
    occurred_at_us: int,
    recorded_at_us: int,
    leaf_index: int,
    state: bytes | dict[str, Any],
) -> RecordedEvent:
    """A stored event as the read paths use it."""
    cls = event_class(topic)
    stored = decode_state(state) if isinstance(state, bytes) else dict(state)
    stored_data = stored["data"]
    current = _upcast(cls, stored)
    return RecordedEvent(
        type=cls.event_type,
        claim_id=claim_id,
        event_id=current["event_id"],
        version=version,
        position=position,
        occurred_at_us=occurred_at_us,
        recorded_at_us=recorded_at_us,
        leaf_index=leaf_index,
        occurred_at=current["occurred_at"],
        actor=current["actor"],
        data=current["data"],
        data_salt=current["data_salt"],
        stored_data=stored_data if current is not stored else None,
        stored_size=len(state) if isinstance(state, bytes) else 0,
    )


def decode_row(row: EventRow) -> RecordedEvent:
    return decode(
        topic=row.topic,
        claim_id=row.claim_id,
        version=row.version,
        position=row.position,
        occurred_at_us=row.occurred_at_us,
        recorded_at_us=row.recorded_at_us,
        leaf_index=row.leaf_index,
        state=row.state,
    )


def new_events(stored_events: Sequence[StoredEvent]) -> list[NewEvent]:
    """Events to append that were stored by the library's own path (their index
    entries read back from their state)."""
    entries = []
    for stored in stored_events:
        state = decode_state(stored.state)
        entries.append(
            NewEvent(
                stored=stored,
                event_id=UUID(state["event_id"]),
                occurred_at_us=to_micros(parse_instant(state["occurred_at"])),
            )
        )
    return entries


class EventMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        assert isinstance(domain_event, ClaimEvent)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=orjson.dumps(stored_state(domain_event)),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = event_class(stored_event.topic)
        state = _upcast(cls, decode_state(stored_event.state))
        originator_id = stored_event.originator_id
        return cast(
            DomainEventProtocol[UUID],
            cast(type[BaseModel], cls).model_validate(
                {
                    **state,
                    "originator_id": originator_id
                    if isinstance(originator_id, UUID)
                    else UUID(originator_id),
                    "originator_version": stored_event.originator_version,
                }
            ),
        )
