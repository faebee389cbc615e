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
    RebuttalFiling,
    VerificationRecording,
    Withdrawal,
)
from ledger.times import Instant

__all__ = [
    "AmendmentCreate",
    "ClaimCreate",
    "EventsPage",
    "EvidenceCreate",
    "Health",
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


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"
    backend: str
    position: int = Field(description="The newest position in the ledger.")
    read_models: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Each read model's position and lag in events."
    )
