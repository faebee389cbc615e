"""How a fact-checker's published rating becomes one of the ledger's
(docs/claimreview.md): labels from the table, values on their scale."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factledger.rating_table import load_rating_labels, shipped_rows
from ledger.errors import UnmappableRating
from ledger.payloads import Rating
from ledger.rating_labels import RatingLabels, normalized_label, rating_on_scale

LABELS = load_rating_labels(None)


@pytest.mark.parametrize(
    ("label", "rating"),
    [
        # the ledger's own labels, as its ClaimReviews give them, and its ratings' names
        ("True", Rating.TRUE),
        ("Mostly true", Rating.MOSTLY_TRUE),
        ("mostly_false", Rating.MOSTLY_FALSE),
        ("Misleading", Rating.MISLEADING),
        ("Unproven", Rating.UNPROVEN),
        # PolitiFact
        ("Half True", Rating.MIXED),
        ("Pants on Fire", Rating.FALSE),
        ("PANTS ON FIRE!", Rating.FALSE),
        ("Mostly False", Rating.MOSTLY_FALSE),
        # Snopes
        ("Mixture", Rating.MIXED),
        ("Miscaptioned", Rating.MISLEADING),
        ("Unfounded", Rating.UNPROVEN),
        ("Correct Attribution", Rating.TRUE),
        # The Washington Post
        ("Four Pinocchios", Rating.FALSE),
        ("Two Pinocchios", Rating.MIXED),
        ("3 Pinocchios", Rating.MOSTLY_FALSE),
        ("Geppetto Checkmark", Rating.TRUE),
        # Full Fact, AFP, Reuters
        ("Incorrect", Rating.FALSE),
        ("Partly false", Rating.MOSTLY_FALSE),
        ("Missing context", Rating.MISLEADING),
        ("Altered", Rating.FALSE),
        ("Partly true", Rating.MIXED),
    ],
)
def test_a_well_known_label_maps_to_its_rating(label: str, rating: Rating) -> None:
    mapped = LABELS.by_label(label)
    assert mapped is not None
    assert mapped.rating is rating
    assert f'"{label}"' in mapped.how


@pytest.mark.parametrize(
    "label", ["half true", " Half-True. ", "HALF_TRUE", "«Half True»", "half   true!!"]
)
def test_labels_match_whatever_their_case_punctuation_and_spacing(label: str) -> None:
    mapped = LABELS.by_label(label)
    assert mapped is not None
    assert mapped.rating is Rating.MIXED


def test_the_label_says_whose_it_is_in_the_mapping() -> None:
    mapped = LABELS.by_label("Pants on Fire")
    assert mapped is not None
    assert mapped.how == 'label "Pants on Fire" → false, PolitiFact\'s label'


def test_every_shipped_label_has_a_rating_of_the_scale_and_none_repeats() -> None:
    rows = shipped_rows()
    assert len(rows) >= 40
    normalized = [normalized_label(row.label) for row in rows]
    assert len(set(normalized)) == len(normalized)
    assert {row.publisher for row in rows} >= {
        "PolitiFact",
        "Snopes",
        "The Washington Post",
        "Full Fact",
        "AFP Fact Check",
        "Reuters Fact Check",
    }


def test_an_operators_file_adds_labels_and_overrides_shipped_ones(tmp_path: Path) -> None:
    extra = tmp_path / "labels.json"
    extra.write_text(
        json.dumps(
            {
                "labels": [
                    {"label": "Nem igaz", "rating": "false", "publisher": "Lakmusz"},
                    {"label": "Mixture", "rating": "unproven", "publisher": "Our desk"},
                ]
            }
        )
    )
    labels = load_rating_labels(extra)
    nem_igaz = labels.by_label("nem igaz")
    assert nem_igaz is not None
    assert nem_igaz.rating is Rating.FALSE
    mixture = labels.by_label("Mixture")
    assert mixture is not None
    assert mixture.rating is Rating.UNPROVEN
    own = labels.by_label("False")
    assert own is not None
    assert own.rating is Rating.FALSE  # the ledger's own labels cannot be overridden


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json", "labels.json"),
        ('{"labels": {}}', "no list of labels"),
        ('{"labels": [{"label": "Bogus", "rating": "wrong"}]}', "'Bogus'"),
        ('{"labels": [{"rating": "false"}]}', "label 1"),
        ('{"labels": [{"label": "!!", "rating": "false"}]}', "no letters"),
    ],
)
def test_an_operators_file_that_cannot_be_used_is_refused_saying_why(
    tmp_path: Path, content: str, says: str
) -> None:
    extra = tmp_path / "labels.json"
    extra.write_text(content)
    with pytest.raises(ValueError, match=says):
        load_rating_labels(extra)


@pytest.mark.parametrize(
    ("value", "best", "worst", "rating"),
    [
        (5, None, None, Rating.TRUE),
        (1, None, None, Rating.FALSE),
        (3, 5, 1, Rating.MIXED),
        ("4", "5", "1", Rating.MOSTLY_TRUE),
        (2.0, 5, 1, Rating.MOSTLY_FALSE),
        # other scales
        (10, 10, 0, Rating.TRUE),
        (0, 10, 0, Rating.FALSE),
        (6, 6, 1, Rating.TRUE),
        (2, 6, 1, Rating.MOSTLY_FALSE),
        (1, 3, 1, Rating.FALSE),
        (2, 3, 1, Rating.MIXED),
        (0.5, 1, 0, Rating.MIXED),
        # reversed: 1 means true
        (1, 1, 6, Rating.TRUE),
        (6, 1, 6, Rating.FALSE),
        (5, 1, 6, Rating.MOSTLY_FALSE),
        (1, 1, 5, Rating.TRUE),
    ],
)
def test_a_value_is_placed_on_its_scale_and_taken_to_the_nearest_rating(
    value: Any, best: Any, worst: Any, rating: Rating
) -> None:
    mapped = rating_on_scale(value, best, worst, "reviewRating")
    assert mapped.rating is rating
    assert f"ratingValue {value}" in mapped.how


def test_a_tie_between_two_ratings_goes_towards_the_middle() -> None:
    # 1 + 4 * 1/8 = 1.5 and 1 + 4 * 7/8 = 4.5: halfway between two ratings
    assert rating_on_scale(1, 8, 0, "r").rating is Rating.MOSTLY_FALSE
    assert rating_on_scale(7, 8, 0, "r").rating is Rating.MOSTLY_TRUE


@given(
    worst=st.integers(-100, 100),
    span=st.integers(1, 100),
    reversed_scale=st.booleans(),
    data=st.data(),
)
def test_any_value_on_any_scale_maps_to_a_valued_rating_in_order(
    worst: int, span: int, reversed_scale: bool, data: st.DataObject
) -> None:
    best = worst - span if reversed_scale else worst + span
    low, high = sorted((worst, best))
    first = data.draw(st.integers(low, high))
    second = data.draw(st.integers(low, high))
    mapped = [rating_on_scale(v, best, worst, "r").rating for v in (first, second)]
    values = [rating.rating_value for rating in mapped]
    assert all(v is not None for v in values)
    # closer to best is never rated worse
    closer = abs(first - best) <= abs(second - best)
    assert (values[0] or 0) >= (values[1] or 0) if closer else (values[0] or 0) <= (values[1] or 0)
    assert rating_on_scale(best, best, worst, "r").rating is Rating.TRUE
    assert rating_on_scale(worst, best, worst, "r").rating is Rating.FALSE


@pytest.mark.parametrize(
    ("value", "best", "worst", "field"),
    [
        (7, 6, 1, "reviewRating.ratingValue"),
        (0, None, None, "reviewRating.ratingValue"),
        ("four", None, None, "reviewRating.ratingValue"),
        (True, None, None, "reviewRating.ratingValue"),
        ("NaN", None, None, "reviewRating.ratingValue"),
        (3, 5, 5, "reviewRating.bestRating"),
        (3, "x", 1, "reviewRating.bestRating"),
        (3, 5, [1], "reviewRating.worstRating"),
    ],
)
def test_a_value_off_its_scale_or_not_a_number_is_refused_naming_the_field(
    value: Any, best: Any, worst: Any, field: str
) -> None:
    with pytest.raises(UnmappableRating) as refused:
        rating_on_scale(value, best, worst, "reviewRating")
    assert refused.value.field == field


def test_a_known_label_wins_over_the_value() -> None:
    # Older markup: bestRating 6 although 1 means true; the label says what is meant.
    mapped = LABELS.map("True", 1, 6, 1)
    assert mapped.rating is Rating.TRUE


def test_an_unknown_label_falls_back_to_the_value_else_is_refused_naming_it() -> None:
    assert LABELS.map("Ask your uncle", 1, 5, 1).rating is Rating.FALSE
    with pytest.raises(UnmappableRating) as refused:
        LABELS.map("There is no evidence Soledar fell that night.", None, None, None)
    assert refused.value.field == "reviewRating.alternateName"
    assert refused.value.label == "There is no evidence Soledar fell that night."
    assert "There is no evidence Soledar fell that night." in refused.value.detail


def test_no_label_and_no_value_is_refused() -> None:
    with pytest.raises(UnmappableRating) as refused:
        RatingLabels([]).map(None, None, None, None)
    assert refused.value.field == "reviewRating"


def test_the_documentation_lists_every_shipped_label_with_its_rating() -> None:
    page = (Path(__file__).parents[2] / "docs" / "claimreview.md").read_text()
    documented = {
        (publisher.strip(), label.strip(), rating.strip(" `"))
        for publisher, labels, rating in re.findall(
            r"^\| ([^|]+) \| ([^|]+) \| (`[a-z_]+`) \|$", page, re.MULTILINE
        )
        for label in labels.split(",")
    }
    shipped = {(row.publisher, row.label, row.rating.value) for row in shipped_rows()}
    assert documented == shipped
