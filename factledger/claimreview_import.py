"""ClaimReview import (SPEC §4): each review becomes a `ClaimRegistered` and a
`VerificationRecorded`, through the one writer, as the caller.

Idempotent on the review's url, whatever crashes or races: the claim's id is
derived from the url, so a second registration is refused as already there
(`ClaimAlreadyRegistered`), whoever made the first; the verification is
appended only if the claim's history holds none for that url, on the
condition (`If-Match`) that the claim is still at the version that history
was read at. Two imports racing in two processes thus append one claim and
one verification; an import that stopped between the two events is
completed by the next, not duplicated.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from factledger.commands import Command, IfMatch
from factledger.reads import ClaimReads
from factledger.writer import Writer
from ledger.access import Actor
from ledger.claimreview_reading import ImportedReview
from ledger.errors import (
    ClaimAlreadyRegistered,
    ClaimNotFound,
    PreconditionFailed,
    Unavailable,
)
from ledger.events import EventType
from ledger.recorded import RecordedEvent
from ledger.times import utc_now

__all__ = ["ClaimReviewImport", "Imported"]

_ATTEMPTS: Final = 20
"""Reads and conditional appends of the verification before giving up (each
lost only to another write to the same claim)."""


@dataclass(frozen=True)
class Imported:
    appended: bool
    """False when both events were there already: a replay."""
    events: list[RecordedEvent]
    """The claim's registration and the review's verification."""


class ClaimReviewImport:
    def __init__(self, writer: Writer, reads: ClaimReads) -> None:
        self._writer = writer
        self._reads = reads

    async def add(self, review: ImportedReview, actor: Actor) -> Imported:
        registered = False
        for attempt in range(_ATTEMPTS):
            if not registered:
                registered = await self._register(review, actor)
            try:
                _, events = await self._reads.ahistory(review.claim_id)
            except ClaimNotFound:
                # Refused as already registered by a write not committed yet (in
                # the same batch as ours): look again in a moment.
                await asyncio.sleep(0.01 * (attempt + 1))
                continue
            registration = events[0]
            earlier = _verification_of(events, review.url)
            if earlier is not None:
                return Imported(registered, [registration, earlier])
            try:
                written = await self._writer.submit(
                    Command(
                        event_type=EventType.VERIFICATION_RECORDED,
                        payload=review.verification,
                        actor=actor,
                        received_at=utc_now(),
                        claim_id=review.claim_id,
                        occurred_at=review.verification_occurred_at,
                        if_match=IfMatch(versions=frozenset({events[-1].version})),
                    )
                )
            except PreconditionFailed:
                continue  # the claim moved on: read it again
            return Imported(True, [registration, written.event])
        raise Unavailable(
            "The imported claim kept changing while its verification was being appended; "
            "import the review again.",
            retry_after=1,
        )

    async def _register(self, review: ImportedReview, actor: Actor) -> bool:
        """True when this registered the claim, False when it was there already."""
        try:
            await self._writer.submit(
                Command(
                    event_type=EventType.CLAIM_REGISTERED,
                    payload=review.registration,
                    actor=actor,
                    received_at=utc_now(),
                    claim_id=review.claim_id,
                    occurred_at=review.claim_occurred_at,
                )
            )
        except ClaimAlreadyRegistered:
            return False  # an earlier import (or one racing this) registered it
        return True


def _verification_of(events: list[RecordedEvent], url: str) -> RecordedEvent | None:
    for event in events:
        if event.type is EventType.VERIFICATION_RECORDED:
            review = event.data.get("review")
            if isinstance(review, dict) and review.get("url") == url:
                return event
    return None
