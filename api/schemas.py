"""Request and answer bodies of the HTTP API that are not the domain's own.

A write body is the command's payload plus the optional `occurred_at`; the
claim's own state, timeline and envelopes are the domain's models.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from ledger.envelope import Envelope
from ledger.payloads import (
    ClaimAmendment,
    ClaimRegistration,
    EvidenceAttachment,
    Party,
    RebuttalFiling,
    VerificationRecording,
    Withdrawal,
)
from ledger.times import Instant
from ledger.verdict import Verdict, VerdictChange

__all__ = [
    "AmendmentCreate",
    "ChangeEntry",
    "ChangesPage",
    "ClaimCreate",
    "ClaimSummary",
    "ClaimsPage",
    "EventsPage",
    "EvidenceCreate",
    "Health",
    "ReadModelStatus",
    "Readiness",
    "RebuttalCreate",
    "VerificationCreate",
    "WithdrawalCreate",
]

_OCCURRED_AT = Field(
    default=None,
    description="When it happened in the world; the server's clock when absent. "
    "At most 5 minutes ahead of the server's clock.",
)


class ClaimCreate(ClaimRegistration):
    occurred_at: Instant | None = _OCCURRED_AT
    claim_id: UUID | None = Field(
        default=None, description="A client-chosen id; a second registration with it is a 409."
    )


class AmendmentCreate(ClaimAmendment):
    occurred_at: Instant | None = _OCCURRED_AT


class EvidenceCreate(EvidenceAttachment):
    occurred_at: Instant | None = _OCCURRED_AT


class RebuttalCreate(RebuttalFiling):
    occurred_at: Instant | None = _OCCURRED_AT


class VerificationCreate(VerificationRecording):
    occurred_at: Instant | None = _OCCURRED_AT


class WithdrawalCreate(Withdrawal):
    """The body of a withdrawal (of evidence or a rebuttal) or of a retraction."""

    occurred_at: Instant | None = _OCCURRED_AT


class EventsPage(BaseModel):
    events: list[Envelope]
    next_after: int = Field(description="The last position returned, or `after` when none.")


_NEXT_CURSOR = Field(description="Pass as `cursor` for the next page; null on the last.")


class EvidenceCounts(BaseModel):
    supports: int
    refutes: int
    context: int


class ClaimCounts(BaseModel):
    rebuttals: int = Field(description="Rebuttals that count (not withdrawn).")
    evidence: EvidenceCounts = Field(description="Evidence that counts, by stance.")
    verifications: int = Field(description="Standing verifications.")


class ClaimSummary(BaseModel):
    claim_id: UUID
    text: str
    claimant: Party
    tags: list[str]
    verdict: Verdict
    verdict_since: Instant
    version: int
    counts: ClaimCounts


class ClaimsPage(BaseModel):
    items: list[ClaimSummary]
    next_cursor: str | None = _NEXT_CURSOR


class ChangeEntry(VerdictChange):
    claim_id: UUID
    position: int = Field(description="The position of the event that changed the verdict.")


class ChangesPage(BaseModel):
    items: list[ChangeEntry]
    next_cursor: str | None = _NEXT_CURSOR


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ReadModelStatus(BaseModel):
    position: int = Field(description="The position of the last event applied.")
    lag: int = Field(description="Events in the ledger not applied yet.")


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"
    backend: str
    position: int = Field(description="The newest position in the ledger.")
    read_models: dict[str, ReadModelStatus] = Field(
        description="Each read model's position and lag in events."
    )
    projector: Literal["leading", "standing_by", "stopped", "off"] = Field(
        description="This process's projector: working, waiting to take over, or not run here."
    )
