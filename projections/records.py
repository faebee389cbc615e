"""What the read models hold of one claim, derived from the domain's own fold.

The projector, the rebuild and the tests all turn a claim's fold into rows
here and nowhere else, so the read models cannot drift from the verdict rules
of `ledger.verdict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.payloads import Stance
from ledger.recorded import RecordedEvent
from ledger.verdict import Fold, Verdict
from projections.words import words

__all__ = ["ChangeRecord", "ClaimProjection", "ClaimRecord", "fold_all", "project"]


@dataclass(frozen=True)
class ClaimRecord:
    """One row of `claims`: a claim as the ledger says it stands now."""

    claim_id: UUID
    position: int
    """The registration's position: claims are listed newest registration first."""
    text: str
    claimant: dict[str, Any]
    """As stored: `name`, and `affiliation` where given."""
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
    actor: dict[str, Any]
    """As stored: `id`, `name`, `role`."""
    reason: str | None


@dataclass(frozen=True)
class ClaimProjection:
    """What the read models hold of one claim, or what changed of it."""

    claim: ClaimRecord
    changes: tuple[ChangeRecord, ...]
    changes_from: tuple[int, int] | None = None
    """None: `changes` is the claim's whole timeline. Else the entries from this
    fold key (occurred_at, version) on; the ones before it are unchanged."""


def fold_all(events: Iterable[RecordedEvent]) -> Fold:
    """The fold of every event of one claim (all recorded, whenever they occurred)."""
    folded = Fold()
    for event in sorted(events, key=lambda e: e.fold_key):
        folded.apply(event)
    return folded


def project(
    claim_id: UUID,
    folded: Fold,
    *,
    registration: RecordedEvent,
    last_position: int,
    changes_from: tuple[int, int] | None = None,
) -> ClaimProjection:
    """The rows of a claim from the fold of all of its events."""
    registered = folded.registration
    assert registered is not None
    claimant: dict[str, Any] = registered["claimant"]
    stances = [event.data["stance"] for event in folded.evidence.values()]
    record = ClaimRecord(
        claim_id=claim_id,
        position=registration.position,
        text=folded.text,
        claimant=claimant,
        tags=tuple(folded.tags),
        verdict=folded.verdict,
        verdict_since_us=folded.verdict_since_us,
        version=folded.version,
        last_position=last_position,
        rebuttals=len(folded.rebuttals),
        evidence_supports=stances.count(Stance.SUPPORTS.value),
        evidence_refutes=stances.count(Stance.REFUTES.value),
        evidence_context=stances.count(Stance.CONTEXT.value),
        verifications=len(folded.verifications),
        words=tuple(sorted(words(folded.text, claimant["name"]))),
    )
    changes = tuple(
        ChangeRecord(
            position=change.event.position,
            claim_id=claim_id,
            from_verdict=change.from_,
            to_verdict=change.to,
            occurred_at_us=change.event.occurred_at_us,
            recorded_at_us=change.event.recorded_at_us,
            event_id=UUID(change.event.event_id),
            version=change.event.version,
            actor=change.event.actor,
            reason=change.reason,
        )
        for change in folded.timeline
        if changes_from is None or change.event.fold_key >= changes_from
    )
    return ClaimProjection(claim=record, changes=changes, changes_from=changes_from)
