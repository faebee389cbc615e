"""The Claim aggregate: the events of one claim, and the rules that guard them.

Commands are plain methods: they check the rules (`check_*`), make the ids
and the salt, then call a method decorated with `@event`, whose body only
records what happened, because it runs again on every replay.

The aggregate keeps just what its rules need (when the claim was made, which
items exist, when, and which were ended). The verdict is never kept here: it
is always folded from the recorded events (`ledger.verdict`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate, event
from pydantic import BaseModel, ConfigDict

from ledger.access import Actor
from ledger.errors import (
    ItemAlreadyWithdrawn,
    ItemNotFound,
    OccurredBeforeItem,
    OccurredBeforeRegistration,
    OccurredInFuture,
)
from ledger.payloads import (
    ClaimAmendedData,
    ClaimAmendment,
    ClaimRegisteredData,
    ClaimRegistration,
    EvidenceAttachedData,
    EvidenceAttachment,
    EvidenceWithdrawnData,
    RebuttalFiledData,
    RebuttalFiling,
    RebuttalWithdrawnData,
    VerificationRecordedData,
    VerificationRecording,
    VerificationRetractedData,
    Withdrawal,
)
from ledger.times import Instant, format_instant

__all__ = ["MAX_CLOCK_SKEW", "Claim", "ClaimEvent", "EventData", "ItemKind", "resolve_occurred_at"]

EventData = (
    ClaimRegisteredData
    | ClaimAmendedData
    | EvidenceAttachedData
    | EvidenceWithdrawnData
    | RebuttalFiledData
    | RebuttalWithdrawnData
    | VerificationRecordedData
    | VerificationRetractedData
)
"""The `data` of an event: each event type narrows it to its own payload."""

MAX_CLOCK_SKEW: Final = timedelta(minutes=5)


class ItemKind(StrEnum):
    """What a claim's withdrawable items are."""

    EVIDENCE = "evidence"
    REBUTTAL = "rebuttal"
    VERIFICATION = "verification"


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


def _new_salt() -> str:
    # 16 random bytes per event, so that the hash of a payload reveals nothing
    # guessable and the payload can one day be erased while proofs still hold.
    return secrets.token_hex(16)


class ClaimEvent(BaseModel, CanMutateAggregate[UUID]):
    """What every event of a claim records, besides its typed `data`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    event_id: UUID
    occurred_at: Instant
    actor: Actor
    data: EventData
    data_salt: str


@dataclass(frozen=True)
class _Item:
    occurred_at: datetime
    ended: bool = False


class Claim(BaseAggregate[UUID]):
    """One claim and the rules its events obey (SPEC §2)."""

    class Event(ClaimEvent):
        pass

    class ClaimRegistered(Event, CanInitAggregate[UUID]):
        originator_topic: str
        data: ClaimRegisteredData

    class ClaimAmended(Event):
        data: ClaimAmendedData

    class EvidenceAttached(Event):
        data: EvidenceAttachedData

    class EvidenceWithdrawn(Event):
        data: EvidenceWithdrawnData

    class RebuttalFiled(Event):
        data: RebuttalFiledData

    class RebuttalWithdrawn(Event):
        data: RebuttalWithdrawnData

    class VerificationRecorded(Event):
        data: VerificationRecordedData

    class VerificationRetracted(Event):
        data: VerificationRetractedData

    # --- creation -----------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        claim_id: UUID,
        registration: ClaimRegistration,
        occurred_at: datetime,
        actor: Actor,
    ) -> Claim:
        data = ClaimRegisteredData.model_validate(registration.model_dump())
        return cls._create(
            cls.ClaimRegistered,
            id=claim_id,
            event_id=uuid4(),
            occurred_at=occurred_at,
            actor=actor,
            data=data,
            data_salt=_new_salt(),
        )

    @event(ClaimRegistered)
    def __init__(
        self,
        event_id: UUID,
        occurred_at: datetime,
        actor: Actor,
        data: ClaimRegisteredData,
        data_salt: str,
    ) -> None:
        self.made_at = occurred_at
        self.items: dict[UUID, _Item] = {}
        self.item_kinds: dict[UUID, ItemKind] = {}

    # --- commands -----------------------------------------------------------

    def amend(self, amendment: ClaimAmendment, *, occurred_at: datetime, actor: Actor) -> None:
        self.check_not_before_registration(occurred_at)
        data = ClaimAmendedData.model_validate(amendment.model_dump())
        self._amended(uuid4(), occurred_at, actor, data, _new_salt())

    def attach_evidence(
        self, attachment: EvidenceAttachment, *, occurred_at: datetime, actor: Actor
    ) -> UUID:
        self.check_not_before_registration(occurred_at)
        evidence_id = uuid4()
        data = EvidenceAttachedData(**attachment.model_dump(), evidence_id=evidence_id)
        self._evidence_attached(uuid4(), occurred_at, actor, data, _new_salt())
        return evidence_id

    def withdraw_evidence(
        self, evidence_id: UUID, withdrawal: Withdrawal, *, occurred_at: datetime, actor: Actor
    ) -> None:
        self.check_can_end(ItemKind.EVIDENCE, evidence_id, occurred_at)
        data = EvidenceWithdrawnData(reason=withdrawal.reason, evidence_id=evidence_id)
        self._evidence_withdrawn(uuid4(), occurred_at, actor, data, _new_salt())

    def file_rebuttal(self, filing: RebuttalFiling, *, occurred_at: datetime, actor: Actor) -> UUID:
        self.check_not_before_registration(occurred_at)
        rebuttal_id = uuid4()
        data = RebuttalFiledData(**filing.model_dump(), rebuttal_id=rebuttal_id)
        self._rebuttal_filed(uuid4(), occurred_at, actor, data, _new_salt())
        return rebuttal_id

    def withdraw_rebuttal(
        self, rebuttal_id: UUID, withdrawal: Withdrawal, *, occurred_at: datetime, actor: Actor
    ) -> None:
        self.check_can_end(ItemKind.REBUTTAL, rebuttal_id, occurred_at)
        data = RebuttalWithdrawnData(reason=withdrawal.reason, rebuttal_id=rebuttal_id)
        self._rebuttal_withdrawn(uuid4(), occurred_at, actor, data, _new_salt())

    def record_verification(
        self, recording: VerificationRecording, *, occurred_at: datetime, actor: Actor
    ) -> UUID:
        self.check_not_before_registration(occurred_at)
        verification_id = uuid4()
        data = VerificationRecordedData(**recording.model_dump(), verification_id=verification_id)
        self._verification_recorded(uuid4(), occurred_at, actor, data, _new_salt())
        return verification_id

    def retract_verification(
        self,
        verification_id: UUID,
        withdrawal: Withdrawal,
        *,
        occurred_at: datetime,
        actor: Actor,
    ) -> None:
        self.check_can_end(ItemKind.VERIFICATION, verification_id, occurred_at)
        data = VerificationRetractedData(reason=withdrawal.reason, verification_id=verification_id)
        self._verification_retracted(uuid4(), occurred_at, actor, data, _new_salt())

    # --- guards -------------------------------------------------------------

    def check_not_before_registration(self, occurred_at: datetime) -> None:
        if occurred_at < self.made_at:
            raise OccurredBeforeRegistration(
                f"occurred_at {format_instant(occurred_at)} is before the claim was made "
                f"({format_instant(self.made_at)})."
            )

    def check_item_exists(self, kind: ItemKind, item_id: UUID) -> None:
        if self.item_kinds.get(item_id) != kind:
            raise ItemNotFound(kind, item_id, self.id)

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
            verb = "retracted" if kind == ItemKind.VERIFICATION else "withdrawn"
            raise ItemAlreadyWithdrawn(f"The {kind} {item_id} was already {verb}.")

    # --- what happened (these bodies run again on every replay) ---------------

    @event(ClaimAmended)
    def _amended(
        self,
        event_id: UUID,
        occurred_at: datetime,
        actor: Actor,
        data: ClaimAmendedData,
        data_salt: str,
    ) -> None:
        pass  # text and tags are folded from the events, with the verdict

    @event(EvidenceAttached)
    def _evidence_attached(
        self,
        event_id: UUID,
        occurred_at: datetime,
        actor: Actor,
        data: EvidenceAttachedData,
        data_salt: str,
    ) -> None:
        self._began(ItemKind.EVIDENCE, data.evidence_id, occurred_at)

    @event(EvidenceWithdrawn)
    def _evidence_withdrawn(
        self,
        event_id: UUID,
        occurred_at: datetime,
        actor: Actor,
        data: EvidenceWithdrawnData,
        data_salt: str,
    ) -> None:
        self._ended(data.evidence_id)

    @event(RebuttalFiled)
    def _rebuttal_filed(
        self,
        event_id: UUID,
        occurred_at: datetime,
        actor: Actor,
        data: RebuttalFiledData,
        data_salt: str,
    ) -> None:
        self._began(ItemKind.REBUTTAL, data.rebuttal_id, occurred_at)

    @event(RebuttalWithdrawn)
    def _rebuttal_withdrawn(
        self,
        event_id: UUID,
        occurred_at: datetime,
        actor: Actor,
        data: RebuttalWithdrawnData,
        data_salt: str,
    ) -> None:
        self._ended(data.rebuttal_id)

    @event(VerificationRecorded)
    def _verification_recorded(
        self,
        event_id: UUID,
        occurred_at: datetime,
        actor: Actor,
        data: VerificationRecordedData,
        data_salt: str,
    ) -> None:
        self._began(ItemKind.VERIFICATION, data.verification_id, occurred_at)

    @event(VerificationRetracted)
    def _verification_retracted(
        self,
        event_id: UUID,
        occurred_at: datetime,
        actor: Actor,
        data: VerificationRetractedData,
        data_salt: str,
    ) -> None:
        self._ended(data.verification_id)

    # --- helpers ------------------------------------------------------------

    def __deepcopy__(self, memo: dict[int, object]) -> Claim:
        """A copy as independent as a deep one, at the cost of copying two dicts.

        Every value a claim holds is immutable (ids, times, frozen items, its
        events); only its containers change. The library copies a cached claim
        for every write, and a deep copy of a claim with a thousand items costs
        tens of milliseconds.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.items = dict(self.items)
        clone.item_kinds = dict(self.item_kinds)
        clone._pending_events = list(self._pending_events)
        return clone

    def _began(self, kind: ItemKind, item_id: UUID, occurred_at: datetime) -> None:
        self.items[item_id] = _Item(occurred_at=occurred_at)
        self.item_kinds[item_id] = kind

    def _ended(self, item_id: UUID) -> None:
        self.items[item_id] = replace(self.items[item_id], ended=True)
