"""The verdict fold (SPEC §3): a claim's state and verdict timeline at any
pair of times, derived from its recorded events and nothing else.

`Fold.apply` is the one implementation of the verdict rules: current and past
states, timelines, and the read models all come from it, whether folded from
the first event (`fold`) or continued from a snapshot (`ledger.history`).
The answer models below (`ClaimState`, `VerdictChange`) declare the shape of
what the API returns; `Fold.state` and `Fold.changes` build them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, assert_never
from uuid import UUID

from pydantic import ConfigDict, Field

from ledger.access import Actor
from ledger.errors import ClaimNotFound
from ledger.events import EventType
from ledger.fields import FrozenModel
from ledger.payloads import (
    DEFAULT_LANGUAGE,
    Appearance,
    EvidenceAttachedData,
    Party,
    Rating,
    RebuttalFiledData,
    Stance,
    VerificationRecordedData,
)
from ledger.recorded import RecordedEvent
from ledger.times import Instant, format_instant, from_micros, to_micros

__all__ = [
    "Change",
    "ClaimFold",
    "ClaimState",
    "CountingEvidence",
    "CountingRebuttal",
    "EvidenceByStance",
    "Fold",
    "StandingVerification",
    "Verdict",
    "VerdictChange",
    "fold",
    "not_yet_detail",
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
    def of_rating(cls, rating: Rating | str) -> Verdict:
        return cls(rating)


_OF_RATING: Final = {rating.value: Verdict(rating.value) for rating in Rating}


# --- the answers' declared shapes ----------------------------------------------


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


# --- the fold -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """A timeline entry as the fold makes it: `from` → `to` because of `event`."""

    from_: Verdict | None
    to: Verdict
    event: RecordedEvent
    reason: str | None


class Fold:
    """The running state of a fold: what the events folded so far say."""

    __slots__ = (
        "evidence",
        "rebuttals",
        "registration",
        "tags",
        "text",
        "timeline",
        "verdict",
        "verifications",
        "version",
    )

    def __init__(self) -> None:
        self.registration: dict[str, Any] | None = None
        self.text = ""
        self.tags: list[str] = []
        self.version = 0
        # Insertion order is fold order: the last standing verification decides.
        self.verifications: dict[str, RecordedEvent] = {}
        self.rebuttals: dict[str, RecordedEvent] = {}
        self.evidence: dict[str, RecordedEvent] = {}
        self.timeline: list[Change] = []
        self.verdict = Verdict.UNVERIFIED

    def copy(self, timeline: list[Change] | None = None) -> Fold:
        """An independent copy; with `timeline`, that list is the copy's timeline."""
        clone = Fold()
        clone.registration = self.registration
        clone.text = self.text
        clone.tags = self.tags
        clone.version = self.version
        clone.verifications = dict(self.verifications)
        clone.rebuttals = dict(self.rebuttals)
        clone.evidence = dict(self.evidence)
        clone.timeline = list(self.timeline) if timeline is None else timeline
        clone.verdict = self.verdict
        return clone

    @property
    def registered(self) -> bool:
        return self.registration is not None

    @property
    def verdict_since_us(self) -> int:
        return self.timeline[-1].event.occurred_at_us

    def apply(self, event: RecordedEvent) -> None:
        before = self.verdict if self.registration is not None else None
        reason = self._apply_data(event)
        self.version = max(self.version, event.version)
        after = self._verdict()
        if after is not before:
            self.verdict = after
            self.timeline.append(Change(before, after, event, reason))

    def _verdict(self) -> Verdict:
        if self.verifications:
            last = next(reversed(self.verifications.values()))
            return _OF_RATING[last.data["rating"]]
        if self.rebuttals:
            return Verdict.DISPUTED
        return Verdict.UNVERIFIED

    def _apply_data(self, event: RecordedEvent) -> str | None:
        """Applies one event's data; returns the reason a verdict change would carry."""
        data = event.data
        match event.type:
            case EventType.CLAIM_REGISTERED:
                self.registration = data
                self.text = data["text"]
                self.tags = data.get("tags", [])
                return None
            case EventType.CLAIM_AMENDED:
                self.text = data.get("text", self.text)
                self.tags = data.get("tags", self.tags)
                return str(data["reason"])
            case EventType.EVIDENCE_ATTACHED:
                self.evidence[data["evidence_id"]] = event
                return data.get("excerpt")
            case EventType.EVIDENCE_WITHDRAWN:
                self.evidence.pop(data["evidence_id"], None)
                return str(data["reason"])
            case EventType.REBUTTAL_FILED:
                self.rebuttals[data["rebuttal_id"]] = event
                return str(data["statement"])
            case EventType.REBUTTAL_WITHDRAWN:
                self.rebuttals.pop(data["rebuttal_id"], None)
                return str(data["reason"])
            case EventType.VERIFICATION_RECORDED:
                self.verifications[data["verification_id"]] = event
                return str(data["rationale"])
            case EventType.VERIFICATION_RETRACTED:
                self.verifications.pop(data["verification_id"], None)
                return str(data["reason"])
            case _:
                assert_never(event.type)

    # --- the declared answers ---------------------------------------------------

    def state(self, claim_id: UUID, *, as_of: datetime, valid_at: datetime | None) -> ClaimState:
        """The state as the API declares it (validated: the reference for faster encoders)."""
        registration = self.registration
        assert registration is not None, "a state needs the registration folded"
        evidence = [item_fields(e) for e in self.evidence.values()]
        return ClaimState.model_validate(
            {
                "claim_id": claim_id,
                "verdict": self.verdict,
                "verdict_since": from_micros(self.verdict_since_us),
                "version": self.version,
                "text": self.text,
                "tags": self.tags,
                "claimant": registration["claimant"],
                "appearance": registration.get("appearance"),
                "language": registration.get("language", DEFAULT_LANGUAGE),
                "verifications": [item_fields(e) for e in self.verifications.values()],
                "rebuttals": [item_fields(e) for e in self.rebuttals.values()],
                "evidence": {
                    stance.value: [e for e in evidence if e["stance"] == stance.value]
                    for stance in Stance
                },
                "as_of": as_of,
                "valid_at": valid_at,
            }
        )

    def changes(self) -> list[VerdictChange]:
        return [
            VerdictChange(
                from_=change.from_,
                to=change.to,
                occurred_at=from_micros(change.event.occurred_at_us),
                recorded_at=from_micros(change.event.recorded_at_us),
                event_id=UUID(change.event.event_id),
                version=change.event.version,
                actor=Actor.model_validate(change.event.actor),
                reason=change.reason,
            )
            for change in self.timeline
        ]


def item_fields(event: RecordedEvent) -> dict[str, Any]:
    """An item as a claim's state lists it: its data as given, with the event
    that brought it."""
    return {
        **event.data,
        "event_id": event.event_id,
        "version": event.version,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at(),
        "actor": event.actor,
    }


# --- folding from the first event -------------------------------------------------


@dataclass(frozen=True)
class ClaimFold:
    """A fold from the first event, with the times it was folded at."""

    claim_id: UUID
    folded: Fold
    as_of: datetime
    valid_at: datetime | None
    events: list[RecordedEvent]
    """The events folded, in fold order."""

    @property
    def state(self) -> ClaimState:
        return self.folded.state(self.claim_id, as_of=self.as_of, valid_at=self.valid_at)

    @property
    def timeline(self) -> list[VerdictChange]:
        return self.folded.changes()


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
    as_of_us = to_micros(as_of)
    valid_at_us = to_micros(valid_at) if valid_at is not None else None
    qualifying = sorted(
        (
            e
            for e in events
            if e.recorded_at_us <= as_of_us
            and (valid_at_us is None or e.occurred_at_us <= valid_at_us)
        ),
        key=lambda e: e.fold_key,
    )
    folded = Fold()
    for event in qualifying:
        folded.apply(event)
    if not folded.registered:
        raise ClaimNotFound(claim_id, not_yet_detail(claim_id, as_of, valid_at))
    return ClaimFold(claim_id, folded, as_of, valid_at, qualifying)


def not_yet_detail(claim_id: UUID, as_of: datetime, valid_at: datetime | None) -> str:
    when = f"as of {format_instant(as_of)}"
    if valid_at is not None:
        when += f" and valid at {format_instant(valid_at)}"
    return f"Claim {claim_id} did not exist {when}."
