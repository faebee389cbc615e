"""A claim's ClaimReview (docs/claimreview.md), built from its fold: every
property SPEC §4 names, Google's required and recommended properties, and
the JSON-LD it expands to."""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

import pytest

from ledger.claimreview import Publisher, claim_review
from ledger.errors import NoStandingVerification
from ledger.payloads import Appearance, Party, PartyKind, Rating, Review
from ledger.times import from_micros
from ledger.verdict import fold
from tests.builders import ClaimBuilder, at
from tests.jsonld import SCHEMA, expanded

PUBLISHER = Publisher(
    base_url="https://ledger.example", name="Example Fact Desk", url="https://desk.example"
)

GOOGLE_PROPERTIES: Final = {
    "ClaimReview": {
        "required": ["claimReviewed", "reviewRating", "url"],
        "recommended": ["author", "datePublished", "itemReviewed"],
    },
    "Claim": {
        "required": [],
        "recommended": ["appearance", "author", "datePublished", "firstAppearance"],
    },
    "Rating": {
        "required": ["alternateName"],
        "recommended": ["bestRating", "name", "ratingValue", "worstRating"],
    },
}
"""Google Search Central's "Fact check (ClaimReview) structured data": the
properties each type requires and recommends."""

OFF_THE_SCALE: Final = frozenset({"bestRating", "ratingValue", "worstRating"})
"""What a rating without a value (misleading, unproven) leaves out, as SPEC §4 says."""


def review_of(claim: ClaimBuilder) -> dict[str, Any]:
    folded = fold(claim.claim_id, claim.recorded, as_of=claim.last_recorded_at, valid_at=None)
    return claim_review(claim.claim_id, folded.folded, PUBLISHER)


def verified_claim(rating: Rating = Rating.MOSTLY_FALSE, **review: str) -> ClaimBuilder:
    claim = ClaimBuilder(
        at(0),
        claimant=Party(name="Igor Konashenkov", affiliation="Russian Defense Ministry"),
        appearance=Appearance(url="https://news.example/soledar", outlet="TASS"),
        language="en-GB",
    )
    claim.rebut(at(60))
    claim.verify(
        at(24 * 60),
        rating,
        "Fighting went on in Soledar after 12 January.",
        Review.model_validate(review) if review else None,
    )
    return claim


def test_a_claimreview_has_every_property_the_contract_names() -> None:
    claim = verified_claim(
        url="https://desk.example/soledar#jan-13", headline="Soledar had not fallen"
    )
    page = f"https://ledger.example/claims/{claim.claim_id}/page"
    assert review_of(claim) == {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": "https://desk.example/soledar#jan-13",
        "headline": "Soledar had not fallen",
        "claimReviewed": "Soledar was taken.",
        "inLanguage": "en-GB",
        "datePublished": "2023-01-14",
        "dateModified": "2023-01-14",
        "author": {
            "@type": "Organization",
            "name": "Example Fact Desk",
            "url": "https://desk.example",
        },
        "itemReviewed": {
            "@type": "Claim",
            "@id": f"{page}#claim",
            "author": {
                "@type": "Person",
                "name": "Igor Konashenkov",
                "affiliation": {"@type": "Organization", "name": "Russian Defense Ministry"},
            },
            "datePublished": "2023-01-13",
            "appearance": {
                "@type": "CreativeWork",
                "url": "https://news.example/soledar",
                "publisher": {"@type": "Organization", "name": "TASS"},
            },
            "firstAppearance": {
                "@type": "CreativeWork",
                "url": "https://news.example/soledar",
                "publisher": {"@type": "Organization", "name": "TASS"},
            },
        },
        "reviewRating": {
            "@type": "Rating",
            "alternateName": "Mostly false",
            "name": "Mostly false",
            "ratingValue": 2,
            "bestRating": 5,
            "worstRating": 1,
            "ratingExplanation": "Fighting went on in Soledar after 12 January.",
        },
    }


@pytest.mark.parametrize("rating", list(Rating))
def test_a_claimreview_has_what_google_requires_and_recommends(rating: Rating) -> None:
    document = review_of(verified_claim(rating))
    parts = {
        "ClaimReview": document,
        "Claim": document["itemReviewed"],
        "Rating": document["reviewRating"],
    }
    for type_name, part in parts.items():
        assert part["@type"] == type_name
        expected = GOOGLE_PROPERTIES[type_name]
        assert set(expected["required"]) <= set(part), type_name
        recommended = set(expected["recommended"])
        if type_name == "Rating" and rating.rating_value is None:
            recommended -= OFF_THE_SCALE
            assert not OFF_THE_SCALE & set(part)
        assert recommended <= set(part), type_name
    assert document["author"]["@type"] == "Organization"
    assert {"name", "url"} <= set(document["author"])


@pytest.mark.parametrize(
    ("rating", "label", "value"),
    [
        (Rating.TRUE, "True", 5),
        (Rating.MOSTLY_TRUE, "Mostly true", 4),
        (Rating.MIXED, "Mixed", 3),
        (Rating.MOSTLY_FALSE, "Mostly false", 2),
        (Rating.FALSE, "False", 1),
        (Rating.MISLEADING, "Misleading", None),
        (Rating.UNPROVEN, "Unproven", None),
    ],
)
def test_the_rating_gives_its_label_and_value_on_a_scale_of_one_to_five(
    rating: Rating, label: str, value: int | None
) -> None:
    rated = review_of(verified_claim(rating))["reviewRating"]
    assert rated["alternateName"] == label
    assert rated.get("ratingValue") == value


def test_without_a_review_the_url_is_the_claims_page_and_there_is_no_headline() -> None:
    claim = verified_claim()
    document = review_of(claim)
    assert document["url"] == f"https://ledger.example/claims/{claim.claim_id}/page"
    assert "headline" not in document


def test_an_organization_claimant_is_an_organization_and_a_claimant_of_no_kind_a_person() -> None:
    ministry = ClaimBuilder(claimant=Party(name="Defense Ministry", kind=PartyKind.ORGANIZATION))
    ministry.verify(at(1))
    assert review_of(ministry)["itemReviewed"]["author"] == {
        "@type": "Organization",
        "name": "Defense Ministry",
    }
    unknown = ClaimBuilder(claimant=Party(name="Someone"))
    unknown.verify(at(1))
    assert review_of(unknown)["itemReviewed"]["author"] == {"@type": "Person", "name": "Someone"}


def test_a_claim_without_an_appearance_has_none_and_its_language_defaults_to_english() -> None:
    claim = ClaimBuilder()
    claim.verify(at(1))
    document = review_of(claim)
    assert "appearance" not in document["itemReviewed"]
    assert "firstAppearance" not in document["itemReviewed"]
    assert document["inLanguage"] == "en"


def test_the_last_standing_verification_speaks_and_date_modified_follows_the_verdict() -> None:
    claim = ClaimBuilder(at(0))
    claim.verify(at(60 * 24), Rating.FALSE, "First look.")
    second = claim.verify(at(60 * 48), Rating.MIXED, "Second look.")
    assert review_of(claim)["reviewRating"]["ratingExplanation"] == "Second look."
    claim.retract(second, at(60 * 72))
    document = review_of(claim)
    assert document["reviewRating"]["ratingExplanation"] == "First look."
    assert document["datePublished"] == "2023-01-14"
    assert document["dateModified"] == "2023-01-16"  # the retraction changed the verdict


def test_no_claimreview_while_no_verification_stands() -> None:
    claim = ClaimBuilder()
    claim.rebut(at(1))
    with pytest.raises(NoStandingVerification):
        review_of(claim)
    retracted = ClaimBuilder()
    retracted.retract(retracted.verify(at(1)), at(2))
    with pytest.raises(NoStandingVerification):
        review_of(retracted)


def test_the_claimreview_as_it_stood_before_a_later_verification() -> None:
    claim = ClaimBuilder(at(0))
    claim.verify(at(60), Rating.FALSE, "First look.")
    claim.verify(at(120), Rating.TRUE, "Second look.")
    before = fold(
        claim.claim_id,
        claim.recorded,
        as_of=from_micros(claim.recorded[1].recorded_at_us),
        valid_at=None,
    )
    earlier = claim_review(claim.claim_id, before.folded, PUBLISHER)
    assert earlier["reviewRating"]["alternateName"] == "False"


def test_a_claimreview_is_json_ld_that_expands_to_schema_org_terms() -> None:
    claim = verified_claim(url="https://desk.example/soledar")
    node = expanded(review_of(claim))
    schema = SCHEMA
    assert node["@type"] == [f"{schema}ClaimReview"]
    item = node[f"{schema}itemReviewed"][0]
    assert item["@id"] == f"https://ledger.example/claims/{claim.claim_id}/page#claim"
    assert item["@type"] == [f"{schema}Claim"]
    rating = node[f"{schema}reviewRating"][0]
    assert rating[f"{schema}ratingValue"] == [{"@value": 2}]
    assert node[f"{schema}claimReviewed"] == [{"@value": "Soledar was taken."}]


def test_every_claim_has_its_own_page_under_the_public_base_url() -> None:
    claim_id = UUID("3f418f50-fa3f-517e-b313-4e3c43862b48")
    assert PUBLISHER.claim_page(claim_id) == f"https://ledger.example/claims/{claim_id}/page"
