"""What the read models hold of one claim, derived from the domain's own fold.

The projector, the rebuild and the tests all turn a claim's events into rows
here and nowhere else, so the read models cannot drift from the verdict rules
of `ledger.verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from ledger.access import Actor
from ledger.payloads import Party
from ledger.times import to_micros
from ledger.verdict import RecordedEvent, Verdict, fold
from projections.words import words

__all__ = ["ChangeRecord", "ClaimProjection", "ClaimRecord", "project_claim"]


@dataclass(frozen=True)
class ClaimRecord:
    """One row of `claims`: a claim as the ledger says it stands now."""

    claim_id: UUID
    position: int
    """The registration's position: claims are listed newest registration first."""
    text: str
    claimant: Party
    tags: tuple[str, ...]
    verdict: Verdict
    verdict_since_us: int
    version: int
    last_position: int
    rebuttals: int
    evidence_supports: int
    evidence_refutes: int
    evidence_context: int
    verifications: int
    words: tuple[str, ...]
    """What `q` searches: the words of the text and of the claimant's name."""


@dataclass(frozen=True)
class ChangeRecord:
    """One row of `verdict_changes`: an entry of a claim's verdict timeline."""

    position: int
    """The position of the event that changed the verdict (one entry per event at most)."""
    claim_id: UUID
    from_verdict: Verdict | None
    to_verdict: Verdict
    occurred_at_us: int
    recorded_at_us: int
    event_id: UUID
    version: int
    actor: Actor
    reason: str | None


@dataclass(frozen=True)
class ClaimProjection:
    """Everything the read models hold of one claim."""

    claim: ClaimRecord
    changes: tuple[ChangeRecord, ...]


def project_claim(claim_id: UUID, events: Sequence[RecordedEvent]) -> ClaimProjection:
    """The rows of a claim from all of its events (each event's position included).

    The state is the fold with every event the ledger has: `as_of` the newest
    `recorded_at` among them, `valid_at` unbounded.
    """
    folded = fold(claim_id, events, as_of=max(e.recorded_at for e in events), valid_at=None)
    state = folded.state
    positions = {recorded.event.event_id: recorded.position for recorded in folded.events}
    registration = min(events, key=lambda e: e.version)
    record = ClaimRecord(
        claim_id=claim_id,
        position=registration.position,
        text=state.text,
        claimant=state.claimant,
        tags=tuple(state.tags),
        verdict=state.verdict,
        verdict_since_us=to_micros(state.verdict_since),
        version=state.version,
        last_position=max(e.position for e in events),
        rebuttals=len(state.rebuttals),
        evidence_supports=len(state.evidence.supports),
        evidence_refutes=len(state.evidence.refutes),
        evidence_context=len(state.evidence.context),
        verifications=len(state.verifications),
        words=tuple(sorted(words(state.text, state.claimant.name))),
    )
    changes = tuple(
        ChangeRecord(
            position=positions[change.event_id],
            claim_id=claim_id,
            from_verdict=change.from_,
            to_verdict=change.to,
            occurred_at_us=to_micros(change.occurred_at),
            recorded_at_us=to_micros(change.recorded_at),
            event_id=change.event_id,
            version=change.version,
            actor=change.actor,
            reason=change.reason,
        )
        for change in folded.timeline
    )
    return ClaimProjection(claim=record, changes=changes)
