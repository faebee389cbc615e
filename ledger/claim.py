"""The Claim aggregate: the events of one claim, and the rules that guard them.

One command, `execute`, appends any event of `ledger.events`: it checks the
rules (`check_*`), makes the ids and the salt, then triggers the event, whose
`apply` only records what happened to the claim's items, because it runs
again whenever a claim is rebuilt from its history.

The aggregate keeps just what its rules need (when the claim was made, which
items exist, when, and which were ended). The verdict is never kept here: it
is always folded from the recorded events (`ledger.verdict`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final, cast
from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate
from pydantic import BaseModel, ConfigDict, create_model

from ledger.access import Actor
from ledger.errors import (
    ItemAlreadyWithdrawn,
    ItemIdTaken,
    ItemNotFound,
    OccurredBeforeItem,
    OccurredBeforeRegistration,
    OccurredInFuture,
)
from ledger.events import EventType, ItemKind
from ledger.fields import FrozenModel
from ledger.recorded import RecordedEvent
from ledger.times import Instant, format_instant, from_micros

__all__ = ["MAX_CLOCK_SKEW", "Claim", "ClaimEvent", "Copied", "resolve_occurred_at"]

MAX_CLOCK_SKEW: Final = timedelta(minutes=5)


def resolve_occurred_at(requested: datetime | None, now: datetime) -> datetime:
    """The world time of a new event: as given, or the server's clock when absent.

    A client's clock may run a little ahead of ours, never more than the skew.
    """
    if requested is None:
        return now
    if requested > now + MAX_CLOCK_SKEW:
        raise OccurredInFuture(
            f"occurred_at {format_instant(requested)} is more than 5 minutes after the "
            f"server's clock ({format_instant(now)})."
        )
    return requested


@dataclass(frozen=True, slots=True)
class Copied:
    """The identity an event already has in the ledger it is copied from
    (`factledger import`): kept, so that it is the same event here, with the
    same data hash."""

    event_id: UUID
    data_salt: str


def _new_salt() -> str:
    # 16 random bytes per event, so that the hash of a payload reveals nothing
    # guessable and the payload can one day be erased while proofs still hold.
    return secrets.token_hex(16)


class ClaimEvent(BaseModel, CanMutateAggregate[UUID]):
    """What every event of a claim records, besides its typed `data`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[EventType]

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    event_id: UUID
    occurred_at: Instant
    actor: Actor
    data: FrozenModel
    data_salt: str

    def apply(self, aggregate: Any) -> None:
        assert isinstance(aggregate, Claim)
        kind = self.event_type.declared.begins or self.event_type.declared.ends
        item_id = getattr(self.data, kind.id_field) if kind is not None else None
        aggregate.took(self.event_type, item_id, self.occurred_at)


class ClaimCreated(ClaimEvent, CanInitAggregate[UUID]):
    """The base of the event that creates a claim."""

    originator_topic: str


@dataclass(frozen=True, slots=True)
class _Item:
    kind: ItemKind
    occurred_at: datetime
    ended: bool = False


class Claim(BaseAggregate[UUID]):
    """One claim and the rules its events obey (SPEC §2)."""

    Event: ClassVar[type[ClaimEvent]] = ClaimEvent
    event_classes: ClassVar[dict[EventType, type[ClaimEvent]]] = {}
    """The class of each event type (made from `ledger.events`, below)."""

    made_at: datetime
    items: dict[UUID, _Item]

    def __init__(self) -> None:
        self.items = {}

    # --- making events --------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        claim_id: UUID,
        registration: FrozenModel,
        occurred_at: datetime,
        actor: Actor,
        copied: Copied | None = None,
    ) -> Claim:
        """A new claim; `copied` gives the registration the identity it has in
        another ledger (import), else it is made here."""
        event_type = EventType.CLAIM_REGISTERED
        event_class = cls.event_classes[event_type]
        assert issubclass(event_class, ClaimCreated)
        return cls._create(
            event_class,
            id=claim_id,
            event_id=copied.event_id if copied else uuid4(),
            occurred_at=occurred_at,
            actor=actor,
            data=_data(event_type, registration, None),
            data_salt=copied.data_salt if copied else _new_salt(),
        )

    def execute(
        self,
        event_type: EventType,
        payload: FrozenModel,
        *,
        occurred_at: datetime,
        actor: Actor,
        item_id: UUID | None = None,
        copied: Copied | None = None,
    ) -> ClaimEvent:
        """Appends an event of that type (not a registration) made from the
        caller's payload; `item_id` names the item an ending event ends, or,
        for an event `copied` from another ledger (import), the id the item it
        begins already has there (else it is made here)."""
        declared = event_type.declared
        assert not event_type.registers, "a claim is registered with Claim.register"
        if declared.ends is not None:
            assert item_id is not None, f"{declared.name} ends an item: which one?"
            self.check_can_end(declared.ends, item_id, occurred_at)
        else:
            self.check_not_before_registration(occurred_at)
        if declared.begins is not None:
            assert item_id is None or copied is not None, "a new item's id is made here"
            item_id = item_id or uuid4()
            self.check_item_id_unused(item_id)
        self.trigger_event(
            self.event_classes[event_type],
            event_id=copied.event_id if copied else uuid4(),
            occurred_at=occurred_at,
            actor=actor,
            data=_data(event_type, payload, item_id),
            data_salt=copied.data_salt if copied else _new_salt(),
        )
        event = self.pending_events[-1]
        assert isinstance(event, ClaimEvent)
        return event

    # --- guards -------------------------------------------------------------

    def check_not_before_registration(self, occurred_at: datetime) -> None:
        if occurred_at < self.made_at:
            raise OccurredBeforeRegistration(
                f"occurred_at {format_instant(occurred_at)} is before the claim was made "
                f"({format_instant(self.made_at)})."
            )

    def check_item_exists(self, kind: ItemKind, item_id: UUID) -> None:
        item = self.items.get(item_id)
        if item is None or item.kind != kind:
            raise ItemNotFound(kind, item_id, self.id)

    def check_item_id_unused(self, item_id: UUID) -> None:
        """A new item's id is new in its claim (only an imported one could repeat)."""
        if item_id in self.items:
            raise ItemIdTaken(f"Claim {self.id} already has an item {item_id}.")

    def check_can_end(self, kind: ItemKind, item_id: UUID, occurred_at: datetime) -> None:
        """A withdrawal or retraction: of an item that exists, after it, and only once."""
        self.check_item_exists(kind, item_id)
        self.check_not_before_registration(occurred_at)
        item = self.items[item_id]
        if occurred_at < item.occurred_at:
            raise OccurredBeforeItem(
                f"occurred_at {format_instant(occurred_at)} is before the {kind} "
                f"({format_instant(item.occurred_at)})."
            )
        if item.ended:
            raise ItemAlreadyWithdrawn(f"The {kind} {item_id} was already {kind.ending}.")

    # --- what happened (runs again whenever a claim is rebuilt) ----------------

    def took(self, event_type: EventType, item_id: UUID | None, occurred_at: datetime) -> None:
        """Records what an event did to the claim's items."""
        declared = event_type.declared
        if event_type.registers:
            self.made_at = occurred_at
        elif declared.begins is not None:
            assert item_id is not None
            self.items[item_id] = _Item(declared.begins, occurred_at)
        elif declared.ends is not None:
            assert item_id is not None
            self.items[item_id] = replace(self.items[item_id], ended=True)

    @classmethod
    def from_history(cls, claim_id: UUID, events: Iterable[RecordedEvent]) -> Claim:
        """The claim as its recorded events (in version order, from the first) left it."""
        claim = object.__new__(cls)
        claim.__init__()  # type: ignore[misc]  # the library builds aggregates this way too
        version = 0
        for event in events:
            if version == 0:
                claim.__base_init__(claim_id, event.version, from_micros(event.occurred_at_us))
            version = event.version
            item_id = event.item_id()
            claim.took(
                event.type,
                UUID(item_id) if item_id is not None else None,
                from_micros(event.occurred_at_us),
            )
        assert version > 0, "a claim's history starts with its registration"
        claim.version = version
        return claim

    # --- helpers ------------------------------------------------------------

    def __deepcopy__(self, memo: dict[int, object]) -> Claim:
        """A copy as independent as a deep one, at the cost of copying one dict.

        Every value a claim holds is immutable (ids, times, frozen items, its
        events); only its containers change.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.items = dict(self.items)
        clone._pending_events = list(self._pending_events)
        return clone


def _data(event_type: EventType, payload: FrozenModel, item_id: UUID | None) -> FrozenModel:
    """The data an event stores: the fields of the caller's payload (validated
    when it was made; a wider model, such as a request body, gives just those),
    with the id of the item it begins or ends. Optional fields not given, or
    given as null, stay absent."""
    declared = event_type.declared
    assert isinstance(payload, declared.payload), f"{declared.name} takes a {declared.payload}"
    fields = {
        name: value
        for name in declared.payload.model_fields
        if (value := getattr(payload, name)) is not None
    }
    kind = declared.begins or declared.ends
    if kind is not None:
        assert item_id is not None, f"{declared.name}: which item?"
        fields[kind.id_field] = item_id
    return declared.data.model_construct(set(fields), **fields)


def _declare_event_class(event_type: EventType) -> type[ClaimEvent]:
    """The event class of a type: `Claim.<name>`, so stored topics read
    `ledger.claim:Claim.<name>` as they always have."""
    declared = event_type.declared
    base = ClaimCreated if event_type.registers else ClaimEvent
    event_class = cast(
        type[ClaimEvent],
        create_model(declared.name, __base__=base, __module__=__name__, data=(declared.data, ...)),
    )
    event_class.__qualname__ = f"Claim.{declared.name}"
    event_class.event_type = event_type
    # The library's upcasting protocol, which `storage.mapper` follows.
    event_class.class_version = len(declared.upcasters) + 1  # type: ignore[attr-defined]
    for version, upcaster in enumerate(declared.upcasters, start=1):
        setattr(event_class, f"upcast_v{version}_v{version + 1}", staticmethod(upcaster))
    setattr(Claim, declared.name, event_class)
    return event_class


Claim.event_classes.update(
    {event_type: _declare_event_class(event_type) for event_type in EventType}
)
