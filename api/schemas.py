"""Request and answer bodies of the HTTP API that are not the domain's own.

A write body is the write's payload plus the optional `occurred_at`, derived
from the declaration of its event (`ledger.events`); the claim's own state,
timeline and envelopes are the domain's models.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, cast
from uuid import UUID

from pydantic import BaseModel, Field, create_model

from api.problems import Problem
from ledger.envelope import Envelope
from ledger.events import EventType
from ledger.fields import FrozenModel
from ledger.payloads import Party
from ledger.times import Instant
from ledger.verdict import Verdict, VerdictChange
from projections.runner import ProjectorRole

__all__ = [
    "ChangeEntry",
    "ChangesPage",
    "ClaimReviewPage",
    "ClaimSummary",
    "ClaimsPage",
    "EventsPage",
    "Health",
    "HistoryCacheStatus",
    "ReadModelStatus",
    "Readiness",
    "ReviewImportResult",
    "write_body",
]

_OCCURRED_AT = Field(
    default=None,
    description="When it happened in the world; the server's clock when absent. "
    "At most 5 minutes ahead of the server's clock.",
)
_CLAIM_ID = Field(
    default=None, description="A client-chosen id; a second registration with it is a 409."
)


@cache
def write_body(event_type: EventType) -> type[FrozenModel]:
    """The body a write takes: its payload, and `occurred_at`; a registration's also
    takes a client-chosen `claim_id`. (Registration: `ClaimRegistrationBody`, ...)"""
    payload = event_type.declared.payload
    fields: dict[str, Any] = {"occurred_at": (Instant | None, _OCCURRED_AT)}
    if event_type.registers:
        fields["claim_id"] = (UUID | None, _CLAIM_ID)
    return cast(
        type[FrozenModel],
        create_model(f"{payload.__name__}Body", __base__=payload, __module__=__name__, **fields),
    )


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


class ClaimReviewPage(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="Each a schema.org ClaimReview as `GET /claims/{claim_id}/claimreview` "
        "answers it (JSON-LD, with its own `@context`)."
    )
    next_cursor: str | None = _NEXT_CURSOR


class ReviewImportResult(BaseModel):
    """What became of one imported ClaimReview."""

    status: int = Field(
        description="201: imported; 200: imported before (its first import's events); "
        "else the problem's status."
    )
    events: list[Envelope] | None = Field(
        default=None, description="The claim's registration and the review's verification."
    )
    problem: Problem | None = Field(default=None, description="Why it was not imported.")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ReadModelStatus(BaseModel):
    position: int = Field(description="The position of the last event applied.")
    lag: int = Field(description="Events in the ledger not applied yet.")


class HistoryCacheStatus(BaseModel):
    claims: int = Field(description="Claims whose decoded history this process keeps.")
    events: int = Field(description="Events in those histories.")
    size_bytes: int = Field(description="Their estimated size in memory.")
    budget_bytes: int = Field(description="The most they may take (FACTLEDGER_HISTORY_CACHE_MIB).")
    hits: int
    misses: int


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"
    backend: str
    position: int = Field(description="The newest position in the ledger.")
    read_models: dict[str, ReadModelStatus] = Field(
        description="Each read model's position and lag in events."
    )
    projector: ProjectorRole | Literal["off"] = Field(
        description="This `serve`'s projector (in a child process, or in this process): "
        "working, waiting to take over, stopped, or not run."
    )
    history_cache: HistoryCacheStatus = Field(
        description="This process's decoded claim histories (point-in-time reads)."
    )
