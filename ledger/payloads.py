"""The payloads of the eight event types (SPEC §2).

Two families: what a client gives for a command (`RebuttalFiling`, ...), and
the `data` an event stores (`RebuttalFiledData`, ...), which adds the ids the
server makes. Optional fields that were not given stay absent from `data`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import Field, model_validator

from ledger.fields import ClaimText, FrozenModel, LanguageTag, LongText, ShortText, Tags, WebUrl

__all__ = [
    "DEFAULT_LANGUAGE",
    "Appearance",
    "CitedSource",
    "ClaimAmendedData",
    "ClaimAmendment",
    "ClaimRegisteredData",
    "ClaimRegistration",
    "EvidenceAttachedData",
    "EvidenceAttachment",
    "EvidenceWithdrawnData",
    "Party",
    "PartyKind",
    "Rating",
    "RebuttalFiledData",
    "RebuttalFiling",
    "RebuttalWithdrawnData",
    "Review",
    "Source",
    "Stance",
    "VerificationRecordedData",
    "VerificationRecording",
    "VerificationRetractedData",
    "Withdrawal",
]

DEFAULT_LANGUAGE = "en"


class Rating(StrEnum):
    """The rating scale, best to worst, then the two without a value."""

    TRUE = "true"
    MOSTLY_TRUE = "mostly_true"
    MIXED = "mixed"
    MOSTLY_FALSE = "mostly_false"
    FALSE = "false"
    MISLEADING = "misleading"
    UNPROVEN = "unproven"

    @property
    def rating_value(self) -> int | None:
        """The ClaimReview `ratingValue`: 5 best, 1 worst, None off the scale."""
        return _RATING_VALUES.get(self)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


_RATING_VALUES = {
    Rating.TRUE: 5,
    Rating.MOSTLY_TRUE: 4,
    Rating.MIXED: 3,
    Rating.MOSTLY_FALSE: 2,
    Rating.FALSE: 1,
}


class Stance(StrEnum):
    SUPPORTS = "supports"
    REFUTES = "refutes"
    CONTEXT = "context"


class PartyKind(StrEnum):
    """What a party is: ClaimReview calls the one a `Person`, the other an `Organization`."""

    PERSON = "person"
    ORGANIZATION = "organization"


class Party(FrozenModel):
    """A person or body: the claimant of a claim, or the party of a rebuttal."""

    name: ShortText
    affiliation: ShortText | None = None
    kind: PartyKind | None = None


class Appearance(FrozenModel):
    """Where the claim appeared."""

    url: WebUrl
    outlet: ShortText | None = None
    quote: LongText | None = None


class Source(FrozenModel):
    url: WebUrl
    title: ShortText | None = None
    outlet: ShortText | None = None


class CitedSource(FrozenModel):
    """A source a verification rests on."""

    url: WebUrl
    title: ShortText | None = None


class ClaimRegistration(FrozenModel):
    text: ClaimText
    claimant: Party
    appearance: Appearance | None = None
    language: LanguageTag | None = None
    tags: Tags | None = None


class ClaimAmendment(FrozenModel):
    text: ClaimText | None = None
    tags: Tags | None = None
    reason: LongText

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.text is None and self.tags is None:
            raise ValueError("an amendment gives at least one of text and tags")
        return self


class EvidenceAttachment(FrozenModel):
    source: Source
    excerpt: LongText | None = None
    stance: Stance


class RebuttalFiling(FrozenModel):
    party: Party
    statement: LongText
    source: Source | None = None


class Review(FrozenModel):
    """The published fact-check article a verification stands for."""

    url: WebUrl
    headline: ShortText | None = None


class VerificationRecording(FrozenModel):
    rating: Rating
    rationale: LongText
    sources: Annotated[list[CitedSource], Field(min_length=1, max_length=20)]
    review: Review | None = None


class Withdrawal(FrozenModel):
    """The reason for a withdrawal of evidence or a rebuttal, or a retraction."""

    reason: LongText


class ClaimRegisteredData(ClaimRegistration):
    pass


class ClaimAmendedData(ClaimAmendment):
    pass


class EvidenceAttachedData(EvidenceAttachment):
    evidence_id: UUID


class EvidenceWithdrawnData(Withdrawal):
    evidence_id: UUID


class RebuttalFiledData(RebuttalFiling):
    rebuttal_id: UUID


class RebuttalWithdrawnData(Withdrawal):
    rebuttal_id: UUID


class VerificationRecordedData(VerificationRecording):
    verification_id: UUID


class VerificationRetractedData(Withdrawal):
    verification_id: UUID
