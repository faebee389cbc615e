"""Builds a claim's recorded events in memory, through the aggregate's commands,
for tests of the rules and of the fold that need no storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from ledger.access import Actor, Role
from ledger.claim import Claim
from ledger.payloads import (
    ClaimAmendment,
    ClaimRegistration,
    EvidenceAttachment,
    Party,
    Rating,
    RebuttalFiling,
    Source,
    Stance,
    VerificationRecording,
    Withdrawal,
)
from ledger.verdict import RecordedEvent

CHECKER = Actor(id="checker-key", name="A checker", role=Role.CHECKER)
EDITOR = Actor(id="editor-key", name="An editor", role=Role.EDITOR)

T0 = datetime(2023, 1, 13, 9, 0, tzinfo=UTC)
"""When the built claim is made, unless told otherwise."""


def at(minutes: float) -> datetime:
    """A world time, in minutes after T0."""
    return T0 + timedelta(minutes=minutes)


class ClaimBuilder:
    """A claim whose events are recorded one per second, in the order they are made."""

    def __init__(
        self,
        made_at: datetime = T0,
        *,
        text: str = "Soledar was taken.",
        recorded_from: datetime = datetime(2026, 11, 25, tzinfo=UTC),
        language: str | None = None,
    ) -> None:
        self.recorded_from = recorded_from
        self.recorded: list[RecordedEvent] = []
        self.claim = Claim.register(
            claim_id=uuid4(),
            registration=ClaimRegistration(
                text=text, claimant=Party(name="Igor Konashenkov"), language=language
            ),
            occurred_at=made_at,
            actor=EDITOR,
        )
        self._record()

    @property
    def claim_id(self) -> UUID:
        return self.claim.id

    @property
    def last_recorded_at(self) -> datetime:
        return self.recorded[-1].recorded_at

    def _record(self) -> None:
        for event in self.claim.collect_events():
            assert isinstance(event, Claim.Event)
            position = len(self.recorded) + 1
            self.recorded.append(
                RecordedEvent(
                    event=event,
                    position=position,
                    recorded_at=self.recorded_from + timedelta(seconds=position),
                )
            )

    def rebut(self, occurred_at: datetime, statement: str = "Battles continued.") -> UUID:
        rebuttal_id = self.claim.file_rebuttal(
            RebuttalFiling(party=Party(name="Hanna Malyar"), statement=statement),
            occurred_at=occurred_at,
            actor=EDITOR,
        )
        self._record()
        return rebuttal_id

    def withdraw_rebuttal(
        self, rebuttal_id: UUID, occurred_at: datetime, reason: str = "Filed in error."
    ) -> None:
        self.claim.withdraw_rebuttal(
            rebuttal_id, Withdrawal(reason=reason), occurred_at=occurred_at, actor=EDITOR
        )
        self._record()

    def verify(
        self, occurred_at: datetime, rating: Rating = Rating.FALSE, rationale: str = "Checked."
    ) -> UUID:
        verification_id = self.claim.record_verification(
            VerificationRecording(
                rating=rating,
                rationale=rationale,
                sources=[{"url": "https://example.org/report"}],  # type: ignore[list-item]
            ),
            occurred_at=occurred_at,
            actor=CHECKER,
        )
        self._record()
        return verification_id

    def retract(
        self, verification_id: UUID, occurred_at: datetime, reason: str = "Wrong source."
    ) -> None:
        self.claim.retract_verification(
            verification_id, Withdrawal(reason=reason), occurred_at=occurred_at, actor=EDITOR
        )
        self._record()

    def attach(self, occurred_at: datetime, stance: Stance = Stance.REFUTES) -> UUID:
        evidence_id = self.claim.attach_evidence(
            EvidenceAttachment(source=Source(url="https://example.org/evidence"), stance=stance),
            occurred_at=occurred_at,
            actor=EDITOR,
        )
        self._record()
        return evidence_id

    def withdraw_evidence(self, evidence_id: UUID, occurred_at: datetime) -> None:
        self.claim.withdraw_evidence(
            evidence_id, Withdrawal(reason="Not relevant."), occurred_at=occurred_at, actor=EDITOR
        )
        self._record()

    def amend(
        self, occurred_at: datetime, *, text: str | None = None, tags: list[str] | None = None
    ) -> None:
        self.claim.amend(
            ClaimAmendment(text=text, tags=tags, reason="Transcription fixed."),
            occurred_at=occurred_at,
            actor=EDITOR,
        )
        self._record()
