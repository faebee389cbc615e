"""Every event a claim can have, and the write that appends it, declared once.

Each row of `EventType` says what the event stores (`data`), what a caller
gives to make it (`payload`), the role that may ask for it, the resource it
is posted to, and what it does to the claim's items (begins one, ends one).
The aggregate (`ledger.claim`), the write path, the API's routes and the
fold (`ledger.verdict`) all read this table: a new event type is a payload,
a row here and a fold rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Final

from ledger.access import Role
from ledger.fields import FrozenModel
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

__all__ = ["CLAIM_ID", "Declaration", "EventType", "ItemKind"]

CLAIM_ID: Final = "claim_id"
"""The name of the claim's id in every resource path."""


class ItemKind(StrEnum):
    """What a claim's withdrawable items are."""

    EVIDENCE = "evidence"
    REBUTTAL = "rebuttal"
    VERIFICATION = "verification"

    def __init__(self, value: str) -> None:
        self.id_field = f"{value}_id"
        """The name of the item's id, in the data of its events and in paths."""
        self.ending = "retracted" if value == "verification" else "withdrawn"
        """What ending one is called."""


@dataclass(frozen=True)
class Declaration:
    name: str
    """The event's name, as envelopes give its `type`."""
    operation: str
    """The write's name: the API's operation id."""
    summary: str
    path: str
    """The resource a caller posts the payload to; `{claim_id}` and the ended
    item's `{<kind>_id}` stand for ids."""
    payload: type[FrozenModel]
    data: type[FrozenModel]
    role: Role
    begins: ItemKind | None = None
    """The event begins an item of this kind; the ledger makes its id."""
    ends: ItemKind | None = None
    """The event ends the item of this kind that its path names."""
    upcasters: tuple[Callable[[dict[str, Any]], None], ...] = ()
    """When the shape of `data` changes: `upcasters[i]` rewrites a stored
    state of class version i + 1 into version i + 2 as it is read. Stored
    events are never rewritten; events are stored with the latest version."""


class EventType(Enum):
    CLAIM_REGISTERED = Declaration(
        name="ClaimRegistered",
        operation="register_claim",
        summary="Register a claim",
        path="/claims",
        payload=ClaimRegistration,
        data=ClaimRegisteredData,
        role=Role.CONTRIBUTOR,
    )
    CLAIM_AMENDED = Declaration(
        name="ClaimAmended",
        operation="amend_claim",
        summary="Amend a claim's text or tags",
        path="/claims/{claim_id}/amendments",
        payload=ClaimAmendment,
        data=ClaimAmendedData,
        role=Role.EDITOR,
    )
    EVIDENCE_ATTACHED = Declaration(
        name="EvidenceAttached",
        operation="attach_evidence",
        summary="Attach evidence",
        path="/claims/{claim_id}/evidence",
        payload=EvidenceAttachment,
        data=EvidenceAttachedData,
        role=Role.CONTRIBUTOR,
        begins=ItemKind.EVIDENCE,
    )
    EVIDENCE_WITHDRAWN = Declaration(
        name="EvidenceWithdrawn",
        operation="withdraw_evidence",
        summary="Withdraw evidence",
        path="/claims/{claim_id}/evidence/{evidence_id}/withdrawal",
        payload=Withdrawal,
        data=EvidenceWithdrawnData,
        role=Role.EDITOR,
        ends=ItemKind.EVIDENCE,
    )
    REBUTTAL_FILED = Declaration(
        name="RebuttalFiled",
        operation="file_rebuttal",
        summary="File a rebuttal",
        path="/claims/{claim_id}/rebuttals",
        payload=RebuttalFiling,
        data=RebuttalFiledData,
        role=Role.CONTRIBUTOR,
        begins=ItemKind.REBUTTAL,
    )
    REBUTTAL_WITHDRAWN = Declaration(
        name="RebuttalWithdrawn",
        operation="withdraw_rebuttal",
        summary="Withdraw a rebuttal",
        path="/claims/{claim_id}/rebuttals/{rebuttal_id}/withdrawal",
        payload=Withdrawal,
        data=RebuttalWithdrawnData,
        role=Role.EDITOR,
        ends=ItemKind.REBUTTAL,
    )
    VERIFICATION_RECORDED = Declaration(
        name="VerificationRecorded",
        operation="record_verification",
        summary="Record a verification",
        path="/claims/{claim_id}/verifications",
        payload=VerificationRecording,
        data=VerificationRecordedData,
        role=Role.CHECKER,
        begins=ItemKind.VERIFICATION,
    )
    VERIFICATION_RETRACTED = Declaration(
        name="VerificationRetracted",
        operation="retract_verification",
        summary="Retract a verification",
        path="/claims/{claim_id}/verifications/{verification_id}/retraction",
        payload=Withdrawal,
        data=VerificationRetractedData,
        role=Role.EDITOR,
        ends=ItemKind.VERIFICATION,
    )

    def __init__(self, declared: Declaration) -> None:
        # Plain attributes: an enum's `value` is a descriptor, slow on hot paths.
        self.declared = declared
        self.registers = declared.payload is ClaimRegistration
        """True for the event that creates a claim."""

    @classmethod
    def named(cls, name: str) -> EventType:
        """The event type of that name; KeyError when there is none."""
        return _BY_NAME[name]


_BY_NAME: Final = {event_type.declared.name: event_type for event_type in EventType}
