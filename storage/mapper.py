"""Turns the ledger's pydantic events into the library's stored events and back.

The stored state is plain JSON: the event's fields as pydantic writes them in
JSON mode, with optional fields that were not given left out. Reading runs
the upcasters of the event class (`class_version`, `upcast_vN_vN+1(state)`)
before validation, so a changed payload shape reads into today's model while
the stored bytes stay as written.
"""

from __future__ import annotations

import json
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel

__all__ = ["EventMapper", "decode_state"]


def decode_state(state: bytes) -> dict[str, Any]:
    """The stored state of an event as the JSON object it was written as."""
    decoded = json.loads(state)
    assert isinstance(decoded, dict)
    return decoded


class EventMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        model = cast(BaseModel, domain_event)
        state = model.model_dump(mode="json", exclude_none=True)
        del state["originator_id"], state["originator_version"]
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode(),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event_class = resolve_topic(stored_event.topic)
        state = decode_state(stored_event.state)
        from_version = state.pop("class_version", 1)
        for version in range(from_version, getattr(event_class, "class_version", 1)):
            getattr(event_class, f"upcast_v{version}_v{version + 1}")(state)
        originator_id = stored_event.originator_id
        return cast(
            DomainEventProtocol[UUID],
            event_class.model_validate(
                {
                    **state,
                    "originator_id": originator_id
                    if isinstance(originator_id, UUID)
                    else UUID(originator_id),
                    "originator_version": stored_event.originator_version,
                }
            ),
        )
