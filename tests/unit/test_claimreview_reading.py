"""A ClaimReview published elsewhere, read as the claim and the verification
it becomes (docs/claimreview.md), for reviews shaped as several fact-checkers
publish them (tests/claimreviews/publishers.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from factledger.rating_table import load_rating_labels
from ledger.claimreview_reading import imported_claim_id, read_claim_review
from ledger.errors import ClaimReviewRefused
from ledger.payloads import Rating
from ledger.times import format_instant

DOCUMENTS = json.loads((Path(__file__).parents[1] / "claimreviews" / "publishers.json").read_text())
LABELS = load_rating_labels(None)
NOW = datetime(2026, 12, 2, tzinfo=UTC)


def instant(value: datetime | None) -> str | None:
    return format_instant(value) if value is not None else None


@pytest.mark.parametrize(
    "case", DOCUMENTS["reviews"], ids=[case["style"][:40] for case in DOCUMENTS["reviews"]]
)
def test_a_review_becomes_a_claim_and_a_verification(case: dict[str, Any]) -> None:
    review, expect = case["review"], case["expect"]
    imported = read_claim_review(review, LABELS, NOW)
    registration, verification = imported.registration, imported.verification
    assert imported.url == review["url"]
    assert imported.claim_id == imported_claim_id(review["url"])
    assert registration.text == review["claimReviewed"]
    assert registration.claimant.model_dump(mode="json", exclude_none=True) == expect["claimant"]
    appearance = registration.appearance
    assert (
        appearance.model_dump(mode="json", exclude_none=True) if appearance else None
    ) == expect["appearance"]
    assert registration.language == expect.get("language")
    assert instant(imported.claim_occurred_at) == expect["claim_occurred_at"]
    assert instant(imported.verification_occurred_at) == expect["verification_occurred_at"]
    assert verification.rating is Rating(expect["rating"])
    assert verification.review is not None
    assert verification.review.url == review["url"]
    assert verification.review.headline == expect["headline"]
    assert [s.url for s in verification.sources] == [review["url"]]
    last_line = verification.rationale.splitlines()[-1]
    assert last_line.startswith("Imported from ")
    assert f"→ {expect['rating']}" in last_line
    if expect["label"] is not None:
        assert f'"{expect["label"]}"' in last_line
    else:
        assert "ratingValue" in last_line
    if "explanation" in expect:
        assert verification.rationale.startswith(expect["explanation"])


@pytest.mark.parametrize(
    "case", DOCUMENTS["refused"], ids=[case["style"][:40] for case in DOCUMENTS["refused"]]
)
def test_a_review_that_cannot_be_imported_is_refused_naming_the_field(
    case: dict[str, Any],
) -> None:
    with pytest.raises(ClaimReviewRefused) as refused:
        read_claim_review(case["review"], LABELS, NOW)
    assert refused.value.field == case["field"]
    assert case["says"] in refused.value.detail


def test_the_url_is_compared_exactly_a_fragment_makes_another_review() -> None:
    base = "https://factcheck.example/roundup"
    assert imported_claim_id(base) != imported_claim_id(base + "#claim-2")
    assert imported_claim_id(base + "#claim-2") == imported_claim_id(base + "#claim-2")


def test_a_long_explanation_is_cut_so_that_the_mapping_stays_the_last_line() -> None:
    review = dict(DOCUMENTS["reviews"][1]["review"])
    review["reviewRating"] = {"alternateName": "False", "ratingExplanation": "Long. " * 2000}
    rationale = read_claim_review(review, LABELS, NOW).verification.rationale
    assert len(rationale) <= 5000
    assert rationale.splitlines()[-1].startswith("Imported from Snopes's ClaimReview: label")


def test_a_long_headline_is_cut_to_two_hundred_characters() -> None:
    review = {**DOCUMENTS["reviews"][1]["review"], "headline": "Soledar " * 50}
    headline = read_claim_review(review, LABELS, NOW).verification.review.headline  # type: ignore[union-attr]
    assert headline is not None
    assert len(headline) == 200
    assert headline.endswith("…")


def test_optional_parts_that_cannot_be_used_are_left_out() -> None:
    review = {
        **DOCUMENTS["reviews"][1]["review"],
        "inLanguage": "not a language tag!",
        "itemReviewed": {
            "@type": "Claim",
            "author": {"@type": "Organization", "name": "Ministry"},
            "appearance": {"url": "javascript:alert(1)"},
        },
    }
    imported = read_claim_review(review, LABELS, NOW)
    assert imported.registration.language is None
    assert imported.registration.appearance is None
