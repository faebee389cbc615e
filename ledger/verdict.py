"""The verdict fold (SPEC §3): a claim's state and verdict timeline at any
pair of times, derived from its recorded events and nothing else.

`fold` is the one implementation: the current state, every past state, the
timeline and the read models all come from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import ConfigDict, Field

from ledger.access import Actor
from ledger.claim import Claim
from ledger.errors import ClaimNotFound
from ledger.fields import FrozenModel
from ledger.payloads import (
    DEFAULT_LANGUAGE,
    Appearance,
    ClaimAmendedData,
    ClaimRegisteredData,
    EvidenceAttachedData,
    EvidenceWithdrawnData,
    Party,
    Rating,
    RebuttalFiledData,
    RebuttalWithdrawnData,
    Stance,
    VerificationRecordedData,
    VerificationRetractedData,
)
from ledger.times import Instant, format_instant

__all__ = [
    "ClaimFold",
    "ClaimState",
    "CountingEvidence",
    "CountingRebuttal",
    "EvidenceByStance",
    "RecordedEvent",
    "StandingVerification",
    "Verdict",
    "VerdictChange",
    "fold",
]


class Verdict(StrEnum):
    """A rating of the scale, or what a claim is without a standing verification."""

    TRUE = "true"
    MOSTLY_TRUE = "mostly_true"
    MIXED = "mixed"
    MOSTLY_FALSE = "mostly_false"
    FALSE = "false"
    MISLEADING = "misleading"
    UNPROVEN = "unproven"
    DISPUTED = "disputed"
    UNVERIFIED = "unverified"

    @classmethod
    def of_rating(cls, rating: Rating) -> Verdict:
        return cls(rating.value)


@dataclass(frozen=True)
class RecordedEvent:
    """An event as the ledger accepted it: with its place and its system time."""

    event: Claim.Event
    position: int
    recorded_at: datetime

    @property
    def version(self) -> int:
        return self.event.originator_version

    @property
    def occurred_at(self) -> datetime:
        return self.event.occurred_at


class Provenance(FrozenModel):
    """Which event brought an item, when, and who."""

    event_id: UUID
    version: int
    occurred_at: Instant
    recorded_at: Instant
    actor: Actor


class StandingVerification(Provenance, VerificationRecordedData):
    pass


class CountingRebuttal(Provenance, RebuttalFiledData):
    pass


class CountingEvidence(Provenance, EvidenceAttachedData):
    pass


class EvidenceByStance(FrozenModel):
    supports: list[CountingEvidence]
    refutes: list[CountingEvidence]
    context: list[CountingEvidence]


class ClaimState(FrozenModel):
    """What the ledger says of a claim as of `as_of`, valid at `valid_at`."""

    claim_id: UUID
    verdict: Verdict
    verdict_since: Instant
    version: int
    text: str
    tags: list[str]
    claimant: Party
    appearance: Appearance | None
    language: str
    verifications: list[StandingVerification]
    rebuttals: list[CountingRebuttal]
    evidence: EvidenceByStance
    as_of: Instant
    valid_at: Instant | None


class VerdictChange(FrozenModel):
    """One entry of a verdict timeline: the verdict went `from` → `to` because of an event."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: Verdict | None = Field(alias="from")
    to: Verdict
    occurred_at: Instant
    recorded_at: Instant
    event_id: UUID
    version: int
    actor: Actor
    reason: str | None


@dataclass(frozen=True)
class ClaimFold:
    state: ClaimState
    timeline: list[VerdictChange]
    events: list[RecordedEvent]
    """The events folded, in fold order."""


def fold(
    claim_id: UUID,
    events: Iterable[RecordedEvent],
    *,
    as_of: datetime,
    valid_at: datetime | None,
) -> ClaimFold:
    """Folds exactly the events recorded by `as_of` that occurred by `valid_at`
    (unbounded when None), in order of (occurred_at, version).

    Raises ClaimNotFound when the registration is not among them.
    """
    qualifying = sorted(
        (
            e
            for e in events
            if e.recorded_at <= as_of and (valid_at is None or e.occurred_at <= valid_at)
        ),
        key=lambda e: (e.occurred_at, e.version),
    )
    if not any(isinstance(e.event.data, ClaimRegisteredData) for e in qualifying):
        raise ClaimNotFound(claim_id, _not_yet_detail(claim_id, as_of, valid_at))
    folder = _Folder(claim_id)
    for recorded in qualifying:
        folder.apply(recorded)
    return ClaimFold(
        state=folder.state(as_of=as_of, valid_at=valid_at),
        timeline=folder.timeline,
        events=qualifying,
    )


def _not_yet_detail(claim_id: UUID, as_of: datetime, valid_at: datetime | None) -> str:
    when = f"as of {format_instant(as_of)}"
    if valid_at is not None:
        when += f" and valid at {format_instant(valid_at)}"
    return f"Claim {claim_id} did not exist {when}."


class _Folder:
    """The running state of one fold."""

    def __init__(self, claim_id: UUID) -> None:
        self.claim_id = claim_id
        self.registration: ClaimRegisteredData | None = None
        self.text = ""
        self.tags: list[str] = []
        self.version = 0
        # Insertion order is fold order: the last standing verification decides.
        self.verifications: dict[UUID, StandingVerification] = {}
        self.rebuttals: dict[UUID, CountingRebuttal] = {}
        self.evidence: dict[UUID, CountingEvidence] = {}
        self.timeline: list[VerdictChange] = []

    @property
    def verdict(self) -> Verdict:
        if self.verifications:
            last = next(reversed(self.verifications.values()))
            return Verdict.of_rating(last.rating)
        if self.rebuttals:
            return Verdict.DISPUTED
        return Verdict.UNVERIFIED

    def apply(self, recorded: RecordedEvent) -> None:
        before = self.verdict if self.registration is not None else None
        reason = self._apply_data(recorded)
        self.version = max(self.version, recorded.version)
        after = self.verdict
        if before != after:
            self.timeline.append(
                VerdictChange(
                    from_=before,
                    to=after,
                    occurred_at=recorded.occurred_at,
                    recorded_at=recorded.recorded_at,
                    event_id=recorded.event.event_id,
                    version=recorded.version,
                    actor=recorded.event.actor,
                    reason=reason,
                )
            )

    def _apply_data(self, recorded: RecordedEvent) -> str | None:
        """Applies one event's data; returns the reason a verdict change would carry."""
        match recorded.event.data:
            case ClaimRegisteredData() as data:
                self.registration = data
                self.text = data.text
                self.tags = list(data.tags or [])
                return None
            case ClaimAmendedData() as data:
                self.text = data.text if data.text is not None else self.text
                self.tags = list(data.tags) if data.tags is not None else self.tags
                return data.reason
            case EvidenceAttachedData() as data:
                self.evidence[data.evidence_id] = CountingEvidence.model_validate(
                    _with_provenance(data, recorded)
                )
                return data.excerpt
            case EvidenceWithdrawnData() as data:
                self.evidence.pop(data.evidence_id, None)
                return data.reason
            case RebuttalFiledData() as data:
                self.rebuttals[data.rebuttal_id] = CountingRebuttal.model_validate(
                    _with_provenance(data, recorded)
                )
                return data.statement
            case RebuttalWithdrawnData() as data:
                self.rebuttals.pop(data.rebuttal_id, None)
                return data.reason
            case VerificationRecordedData() as data:
                self.verifications[data.verification_id] = StandingVerification.model_validate(
                    _with_provenance(data, recorded)
                )
                return data.rationale
            case VerificationRetractedData() as data:
                self.verifications.pop(data.verification_id, None)
                return data.reason
        raise TypeError(f"no fold rule for {type(recorded.event).__name__}")

    def state(self, *, as_of: datetime, valid_at: datetime | None) -> ClaimState:
        registration = self.registration
        assert registration is not None, "fold() checks the registration is folded"
        evidence = list(self.evidence.values())
        return ClaimState(
            claim_id=self.claim_id,
            verdict=self.verdict,
            verdict_since=self.timeline[-1].occurred_at,
            version=self.version,
            text=self.text,
            tags=self.tags,
            claimant=registration.claimant,
            appearance=registration.appearance,
            language=registration.language or DEFAULT_LANGUAGE,
            verifications=list(self.verifications.values()),
            rebuttals=list(self.rebuttals.values()),
            evidence=EvidenceByStance(
                supports=[e for e in evidence if e.stance is Stance.SUPPORTS],
                refutes=[e for e in evidence if e.stance is Stance.REFUTES],
                context=[e for e in evidence if e.stance is Stance.CONTEXT],
            ),
            as_of=as_of,
            valid_at=valid_at,
        )


def _with_provenance(data: FrozenModel, recorded: RecordedEvent) -> dict[str, object]:
    """An item's fields as given, with the event that brought it."""
    fields: dict[str, object] = {name: getattr(data, name) for name in data.model_fields_set}
    fields.update(
        event_id=recorded.event.event_id,
        version=recorded.version,
        occurred_at=recorded.occurred_at,
        recorded_at=recorded.recorded_at,
        actor=recorded.event.actor,
    )
    return fields
