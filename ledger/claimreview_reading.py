"""A ClaimReview published elsewhere, read as the two events it becomes
(SPEC §4 "Importing ClaimReview"): the claim's registration and its
verification.

Fact-checkers' markup varies: `itemReviewed` is a `Claim` or, in older
markup, a `CreativeWork`; values come as text, as objects with a `name`, or
as lists; dates as days or as times. What a claim needs and is missing or
unusable is refused (`ClaimReviewRefused`, naming the field in ClaimReview's
terms); what is optional and unusable is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Final, TypeVar
from uuid import UUID, uuid5

from pydantic import TypeAdapter, ValidationError

from ledger.claim import MAX_CLOCK_SKEW
from ledger.errors import ClaimReviewRefused
from ledger.fields import MAX_URL_LENGTH, ClaimText, LanguageTag, LongText, ShortText, WebUrl
from ledger.payloads import (
    Appearance,
    CitedSource,
    ClaimRegistration,
    Party,
    PartyKind,
    Review,
    VerificationRecording,
)
from ledger.rating_labels import RatingLabels
from ledger.times import format_instant

__all__ = ["IMPORT_NAMESPACE", "ImportedReview", "imported_claim_id", "read_claim_review"]

IMPORT_NAMESPACE: Final = UUID("0c6b7f3e-52d1-5a8e-9e4b-3c1d2f7a9b64")
"""An imported claim's id is uuid5(IMPORT_NAMESPACE, the review's url)."""

_SCHEMA: Final = re.compile(r"^(?:https?://schema\.org/|schema:)")
_ORGANIZATIONS: Final = frozenset(
    {
        "Organization",
        "GovernmentOrganization",
        "NewsMediaOrganization",
        "PoliticalParty",
        "Corporation",
        "NGO",
        "EducationalOrganization",
        "Project",
        "ResearchOrganization",
        "WebSite",
    }
)
_MAX_HEADLINE: Final = 200
_MAX_RATIONALE: Final = 5000

T = TypeVar("T")


@dataclass(frozen=True)
class ImportedReview:
    url: str
    """The review's url, exactly as published: what makes two imports the same."""
    registration: ClaimRegistration
    claim_occurred_at: datetime | None
    verification: VerificationRecording
    verification_occurred_at: datetime | None

    @property
    def claim_id(self) -> UUID:
        return imported_claim_id(self.url)


def imported_claim_id(url: str) -> UUID:
    return uuid5(IMPORT_NAMESPACE, url)


def types_of(node: dict[str, Any]) -> set[str]:
    """The node's `@type`s by their schema.org names."""
    given = node.get("@type")
    names = given if isinstance(given, list) else [given]
    return {_SCHEMA.sub("", name) for name in names if isinstance(name, str)}


def read_claim_review(node: dict[str, Any], labels: RatingLabels, now: datetime) -> ImportedReview:
    """The review's claim and verification; `ClaimReviewRefused` (or its
    `UnmappableRating`) naming the field when it cannot be imported."""
    url = _checked(WebUrl, _text(node.get("url")), "url")
    item = _first(node.get("itemReviewed"))
    item = item if isinstance(item, dict) else {}
    reviewed_on = _when(node.get("datePublished"), "datePublished", now)
    claimed_on = _when(item.get("datePublished"), "itemReviewed.datePublished", now)
    claim_occurred_at = claimed_on or reviewed_on
    if claim_occurred_at and reviewed_on and reviewed_on < claim_occurred_at:
        raise ClaimReviewRefused(
            "datePublished",
            f"The review ({format_instant(reviewed_on)}) is dated before the claim it reviews "
            f"({format_instant(claim_occurred_at)}).",
        )
    text = _checked(
        ClaimText,
        _text(node.get("claimReviewed")) or _text(item.get("text")),
        "claimReviewed",
    )
    rating = _first(node.get("reviewRating"))
    rating = rating if isinstance(rating, dict) else {}
    label = _text(rating.get("alternateName")) or _text(rating.get("name"))
    mapped = labels.map(
        label, rating.get("ratingValue"), rating.get("bestRating"), rating.get("worstRating")
    )
    headline = _text(node.get("headline")) or _text(node.get("name"))
    if headline is not None and len(headline) > _MAX_HEADLINE:
        headline = headline[: _MAX_HEADLINE - 1] + "…"
    headline = _optional(ShortText, headline)
    registration = ClaimRegistration(
        text=text,
        claimant=_claimant(item),
        appearance=_appearance(item),
        language=_optional(LanguageTag, _text(node.get("inLanguage"))),
    )
    verification = VerificationRecording(
        rating=mapped.rating,
        rationale=_rationale(rating, node, f"Imported from {_whose(node)}: {mapped.how}."),
        sources=[CitedSource(url=url, title=headline)],
        review=Review(url=url, headline=headline),
    )
    return ImportedReview(url, registration, claim_occurred_at, verification, reviewed_on)


# --- the parts ----------------------------------------------------------------------


def _claimant(item: dict[str, Any]) -> Party:
    author = _first(item.get("author"))
    field = "itemReviewed.author.name"
    if isinstance(author, str):
        return Party(name=_checked(ShortText, author, field))
    if not isinstance(author, dict):
        raise ClaimReviewRefused(field, "The claim has no author: a claim needs its claimant.")
    name = _checked(ShortText, _text(author.get("name")), field)
    kinds = types_of(author)
    kind = None
    if "Person" in kinds:
        kind = PartyKind.PERSON
    elif kinds & _ORGANIZATIONS:
        kind = PartyKind.ORGANIZATION
    affiliation = None
    if kind is not PartyKind.ORGANIZATION:
        affiliation = _optional(ShortText, _text(_first(author.get("affiliation"))))
    return Party(name=name, affiliation=affiliation, kind=kind)


def _appearance(item: dict[str, Any]) -> Appearance | None:
    """Where the claim appeared: its first appearance, else an appearance,
    else (older markup, a CreativeWork reviewed) the work's own address."""
    candidates = [item.get("firstAppearance"), item.get("appearance")]
    if "Claim" not in types_of(item):
        candidates += [item.get("url"), item.get("sameAs")]
    for candidate in candidates:
        work = _first(candidate)
        if isinstance(work, str):
            work = {"url": work}
        if not isinstance(work, dict):
            continue
        url = _optional(WebUrl, _text(work.get("url")) or _text(work.get("@id")))
        if url is None:
            continue
        outlet = _first(work.get("publisher")) or _first(work.get("author"))
        outlet_name = outlet if isinstance(outlet, str) else None
        if isinstance(outlet, dict):
            outlet_name = _text(outlet.get("name"))
        return Appearance(url=url, outlet=_optional(ShortText, outlet_name))
    return None


def _whose(node: dict[str, Any]) -> str:
    """Whose review it is, for the rationale's last line."""
    author = _first(node.get("author"))
    name = author if isinstance(author, str) else None
    if isinstance(author, dict):
        name = _text(author.get("name"))
    return f"{name}'s ClaimReview" if name else "a ClaimReview"


def _rationale(rating: dict[str, Any], node: dict[str, Any], mapping: str) -> str:
    """The review's explanation, if it gives one, and how its rating was mapped
    as the last line."""
    explanation = (
        _text(rating.get("ratingExplanation"))
        or _text(node.get("reviewBody"))
        or _text(node.get("description"))
    )
    mapping = mapping[:_MAX_RATIONALE]
    if explanation is None or not explanation.strip():
        return _checked(LongText, mapping, "reviewRating")
    room = _MAX_RATIONALE - len(mapping) - 2
    explanation = explanation.strip().replace("\x00", "")
    if len(explanation) > room:
        explanation = explanation[: max(room - 1, 0)] + "…"
    return _checked(LongText, f"{explanation}\n\n{mapping}", "reviewRating.ratingExplanation")


def _when(value: Any, field: str, now: datetime) -> datetime | None:
    """A ClaimReview date: a day (taken as its start, UTC), or a time (UTC when
    it has no offset); None when absent."""
    text = _text(value)
    if text is None:
        return None
    try:
        if len(text) == 10:
            when = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(text)
            when = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        raise ClaimReviewRefused(field, f"{field} is not a date: {text!r}.") from None
    if when > now + MAX_CLOCK_SKEW:
        raise ClaimReviewRefused(field, f"{field} ({text}) is in the future.")
    return when


# --- values as markup gives them ----------------------------------------------------


def _first(value: Any) -> Any:
    """A list's first item; anything else as it is."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _text(value: Any) -> str | None:
    """Text given as a string, a JSON-LD value object or a thing with a name."""
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@value", value.get("name"))
        value = _first(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _checked(kind: Any, value: str | None, field: str) -> str:
    if value is None:
        raise ClaimReviewRefused(field, f"The review has no {field}, which the import needs.")
    try:
        checked: str = TypeAdapter(kind).validate_python(value)
    except ValidationError as error:
        message = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise ClaimReviewRefused(field, f"{field}: {message}.") from None
    return checked


def _optional(kind: Any, value: str | None) -> str | None:
    """The value if it is valid, else None: optional parts that cannot be used are left out."""
    if value is None or (kind is WebUrl and len(value) > MAX_URL_LENGTH):
        return None
    try:
        checked: str = TypeAdapter(kind).validate_python(value)
    except ValidationError:
        return None
    return checked
