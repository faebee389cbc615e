"""A claim's ClaimReview (schema.org JSON-LD, SPEC §4), built from its fold.

`claim_review` is a pure function of a claim's fold at some pair of times:
the API serves it (`GET /claims/{id}/claimreview`, `GET /claimreview`) and a
claim's page embeds it. "The verification" is the standing verification that
sets the verdict: the last standing one in fold order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from ledger.errors import NoStandingVerification
from ledger.payloads import DEFAULT_LANGUAGE, PartyKind, Rating
from ledger.recorded import RecordedEvent
from ledger.times import from_micros
from ledger.verdict import Fold

__all__ = ["BEST_RATING", "WORST_RATING", "Publisher", "claim_review"]

BEST_RATING: Final = 5
WORST_RATING: Final = 1


@dataclass(frozen=True)
class Publisher:
    """Who publishes the ledger's ClaimReviews, and where its pages are."""

    base_url: str
    """The service's public base URL, without a trailing slash."""
    name: str
    url: str

    def claim_page(self, claim_id: UUID) -> str:
        return f"{self.base_url}/claims/{claim_id}/page"


def claim_review(claim_id: UUID, folded: Fold, publisher: Publisher) -> dict[str, Any]:
    """The ClaimReview of the claim as folded; `NoStandingVerification` when
    no verification stands in the fold."""
    registration = folded.registration
    assert registration is not None, "a ClaimReview needs the registration folded"
    if not folded.verifications:
        raise NoStandingVerification(claim_id)
    verification = next(reversed(folded.verifications.values()))
    data = verification.data
    review = data.get("review", {})
    page = publisher.claim_page(claim_id)
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": review.get("url", page),
    }
    if "headline" in review:
        document["headline"] = review["headline"]
    document.update(
        {
            "claimReviewed": folded.text,
            "inLanguage": registration.get("language", DEFAULT_LANGUAGE),
            "datePublished": _date(verification),
            "dateModified": _date(folded.timeline[-1].event),
            "author": {"@type": "Organization", "name": publisher.name, "url": publisher.url},
            "itemReviewed": _claim(registration, folded.timeline[0].event, page),
            "reviewRating": _rating(Rating(data["rating"]), data["rationale"]),
        }
    )
    return document


def _claim(registration: dict[str, Any], registered: RecordedEvent, page: str) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "@type": "Claim",
        "@id": f"{page}#claim",
        "author": _author(registration["claimant"]),
        "datePublished": _date(registered),
    }
    appearance = registration.get("appearance")
    if appearance is not None:
        work: dict[str, Any] = {"@type": "CreativeWork", "url": appearance["url"]}
        if "outlet" in appearance:
            work["publisher"] = {"@type": "Organization", "name": appearance["outlet"]}
        claim["appearance"] = work
        claim["firstAppearance"] = work
    return claim


def _author(claimant: dict[str, Any]) -> dict[str, Any]:
    if claimant.get("kind") == PartyKind.ORGANIZATION:
        return {"@type": "Organization", "name": claimant["name"]}
    author: dict[str, Any] = {"@type": "Person", "name": claimant["name"]}
    if "affiliation" in claimant:
        author["affiliation"] = {"@type": "Organization", "name": claimant["affiliation"]}
    return author


def _rating(rating: Rating, rationale: str) -> dict[str, Any]:
    reviewed: dict[str, Any] = {
        "@type": "Rating",
        "alternateName": rating.label,
        "name": rating.label,
    }
    value = rating.rating_value
    if value is not None:
        reviewed.update(ratingValue=value, bestRating=BEST_RATING, worstRating=WORST_RATING)
    reviewed["ratingExplanation"] = rationale
    return reviewed


def _date(event: RecordedEvent) -> str:
    """The day the event occurred (UTC), as ClaimReview's dates are given."""
    return from_micros(event.occurred_at_us).date().isoformat()
