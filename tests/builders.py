"""Builds a claim's recorded events in memory, through the aggregate's commands,
for tests of the rules and of the fold that need no storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from eventsourcing.utils import get_topic

from ledger.access import Actor, Role
from ledger.claim import Claim, ClaimEvent
from ledger.events import EventType
from ledger.payloads import (
    Appearance,
    ClaimAmendment,
    ClaimRegistration,
    EvidenceAttachment,
    Party,
    Rating,
    RebuttalFiling,
    Review,
    Source,
    Stance,
    VerificationRecording,
    Withdrawal,
)
from ledger.recorded import RecordedEvent
from ledger.times import from_micros, to_micros
from storage.mapper import decode, stored_state

CHECKER = Actor(id="checker-key", name="A checker", role=Role.CHECKER)
EDITOR = Actor(id="editor-key", name="An editor", role=Role.EDITOR)

KONASHENKOV = Party(name="Igor Konashenkov")

T0 = datetime(2023, 1, 13, 9, 0, tzinfo=UTC)
"""When the built claim is made, unless told otherwise."""


def at(minutes: float) -> datetime:
    """A world time, in minutes after T0."""
    return T0 + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Known:
    """An event as the aggregate made it, with the time it was recorded."""

    event: ClaimEvent
    recorded_at: datetime

    @property
    def occurred_at(self) -> datetime:
        return self.event.occurred_at

    @property
    def version(self) -> int:
        return self.event.originator_version


class ClaimBuilder:
    """A claim whose events are recorded one per second, in the order they are made."""

    def __init__(
        self,
        made_at: datetime = T0,
        *,
        text: str = "Soledar was taken.",
        recorded_from: datetime = datetime(2026, 11, 25, tzinfo=UTC),
        language: str | None = None,
        claimant: Party = KONASHENKOV,
        appearance: Appearance | None = None,
    ) -> None:
        self.recorded_from = recorded_from
        self.recorded: list[RecordedEvent] = []
        self.events: list[ClaimEvent] = []
        """The same events as the aggregate made them."""
        self.claim = Claim.register(
            claim_id=uuid4(),
            registration=ClaimRegistration(
                text=text, claimant=claimant, language=language, appearance=appearance
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
        return from_micros(self.recorded[-1].recorded_at_us)

    @property
    def known(self) -> list[Known]:
        """The events as a reference sees them: the aggregate's, with their times."""
        return [
            Known(event, from_micros(recorded.recorded_at_us))
            for event, recorded in zip(self.events, self.recorded, strict=True)
        ]

    def _record(self) -> ClaimEvent:
        [event] = self.claim.collect_events()
        assert isinstance(event, ClaimEvent)
        position = len(self.recorded) + 1
        self.events.append(event)
        self.recorded.append(
            recorded(event, position, self.recorded_from + timedelta(seconds=position))
        )
        return event

    def _execute(
        self,
        event_type: EventType,
        payload: object,
        occurred_at: datetime,
        actor: Actor,
        item_id: UUID | None = None,
    ) -> UUID | None:
        """Runs a command; the id of the item it began, if any."""
        assert isinstance(payload, event_type.declared.payload)
        self.claim.execute(
            event_type, payload, occurred_at=occurred_at, actor=actor, item_id=item_id
        )
        event = self._record()
        begins = event_type.declared.begins
        return getattr(event.data, begins.id_field) if begins is not None else None

    def rebut(self, occurred_at: datetime, statement: str = "Battles continued.") -> UUID:
        return _made(
            self._execute(
                EventType.REBUTTAL_FILED,
                RebuttalFiling(party=Party(name="Hanna Malyar"), statement=statement),
                occurred_at,
                EDITOR,
            )
        )

    def withdraw_rebuttal(
        self, rebuttal_id: UUID, occurred_at: datetime, reason: str = "Filed in error."
    ) -> None:
        self._execute(
            EventType.REBUTTAL_WITHDRAWN,
            Withdrawal(reason=reason),
            occurred_at,
            EDITOR,
            rebuttal_id,
        )

    def verify(
        self,
        occurred_at: datetime,
        rating: Rating = Rating.FALSE,
        rationale: str = "Checked.",
        review: Review | None = None,
    ) -> UUID:
        return _made(
            self._execute(
                EventType.VERIFICATION_RECORDED,
                VerificationRecording(
                    rating=rating,
                    rationale=rationale,
                    sources=[{"url": "https://example.org/report"}],  # type: ignore[list-item]
                    review=review,
                ),
                occurred_at,
                CHECKER,
            )
        )

    def retract(
        self, verification_id: UUID, occurred_at: datetime, reason: str = "Wrong source."
    ) -> None:
        self._execute(
            EventType.VERIFICATION_RETRACTED,
            Withdrawal(reason=reason),
            occurred_at,
            EDITOR,
            verification_id,
        )

    def attach(self, occurred_at: datetime, stance: Stance = Stance.REFUTES) -> UUID:
        return _made(
            self._execute(
                EventType.EVIDENCE_ATTACHED,
                EvidenceAttachment(
                    source=Source(url="https://example.org/evidence"), stance=stance
                ),
                occurred_at,
                EDITOR,
            )
        )

    def withdraw_evidence(self, evidence_id: UUID, occurred_at: datetime) -> None:
        self._execute(
            EventType.EVIDENCE_WITHDRAWN,
            Withdrawal(reason="Not relevant."),
            occurred_at,
            EDITOR,
            evidence_id,
        )

    def amend(
        self, occurred_at: datetime, *, text: str | None = None, tags: list[str] | None = None
    ) -> None:
        self._execute(
            EventType.CLAIM_AMENDED,
            ClaimAmendment(text=text, tags=tags, reason="Transcription fixed."),
            occurred_at,
            EDITOR,
        )


def recorded(event: ClaimEvent, position: int, recorded_at: datetime) -> RecordedEvent:
    """An event as the ledger would record it at that position and time."""
    return decode(
        topic=get_topic(type(event)),
        claim_id=event.originator_id,
        version=event.originator_version,
        position=position,
        occurred_at_us=to_micros(event.occurred_at),
        recorded_at_us=to_micros(recorded_at),
        leaf_index=position - 1,  # the ledger's first position is 1, with no gaps here
        state=stored_state(event),
    )


def _made(item_id: UUID | None) -> UUID:
    assert item_id is not None
    return item_id
