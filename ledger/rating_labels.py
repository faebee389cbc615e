"""How a fact-checker's rating, as ClaimReview publishes it, becomes one of
the ledger's ratings (SPEC §4 "Importing ClaimReview", docs/claimreview.md).

A label (`alternateName`) is looked up, without regard to case, punctuation
or spacing, among the ledger's own labels, then in a table of the labels
well-known fact-checkers publish (kept as data, `factledger/rating_labels.json`,
which an operator may extend). Failing that, a `ratingValue` is placed on its
scale (`worstRating` to `bestRating`, either way round) and taken to the
nearest of the five valued ratings. Each mapping says how it was made, for the
rationale's last line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from ledger.errors import UnmappableRating
from ledger.payloads import Rating

__all__ = ["LabelRow", "MappedRating", "RatingLabels", "normalized_label", "rating_on_scale"]

_NOT_WORD: Final = re.compile(r"[\W_]+")
_VALUED: Final = sorted(
    (rating for rating in Rating if rating.rating_value is not None),
    key=lambda rating: rating.rating_value or 0,
)
"""The five ratings with a value, worst (1) to best (5)."""
_MIDDLE: Final = 3


def normalized_label(label: str) -> str:
    """A label as it is matched: case folded, every run of punctuation and
    spacing one space, none around it ("Pants on Fire!" → "pants on fire")."""
    return " ".join(_NOT_WORD.sub(" ", label.casefold()).split())


@dataclass(frozen=True)
class LabelRow:
    label: str
    rating: Rating
    publisher: str
    """Whose label it is."""


@dataclass(frozen=True)
class MappedRating:
    rating: Rating
    how: str
    """The label or value given and the mapping used, in a sentence."""


class RatingLabels:
    """The labels the import knows: the ledger's own, then the table's rows
    (a later row for the same label replaces an earlier one)."""

    def __init__(self, rows: Iterable[LabelRow]) -> None:
        self._rows: dict[str, LabelRow] = {}
        for row in rows:
            self._rows[normalized_label(row.label)] = row
        for rating in Rating:
            own = LabelRow(rating.label, rating, "this ledger")
            self._rows[normalized_label(rating.label)] = own

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> list[LabelRow]:
        return list(self._rows.values())

    def by_label(self, label: str) -> MappedRating | None:
        row = self._rows.get(normalized_label(label))
        if row is None:
            return None
        whose = "" if row.publisher == "this ledger" else f", {row.publisher}'s label"
        return MappedRating(row.rating, f'label "{label}" → {row.rating.value}{whose}')

    def map(
        self,
        label: str | None,
        value: object,
        best: object,
        worst: object,
        field: str = "reviewRating",
    ) -> MappedRating:
        """The label's rating, else the value's on its scale; `UnmappableRating`
        (naming the field and the label) when neither gives one."""
        if label is not None:
            mapped = self.by_label(label)
            if mapped is not None:
                return mapped
        if value is not None:
            return rating_on_scale(value, best, worst, field)
        if label is not None:
            raise UnmappableRating(
                f"{field}.alternateName",
                f'The rating label "{label}" is not one the import knows, and there is no '
                "ratingValue to place on a scale; add the label to the rating labels table "
                "(docs/claimreview.md).",
                label,
            )
        raise UnmappableRating(
            field, "The review has no rating: neither alternateName nor ratingValue.", None
        )


def rating_on_scale(value: object, best: object, worst: object, field: str) -> MappedRating:
    """`value` placed on the scale from `worst` to `best` (5 and 1 when not
    given; a scale may run either way), taken to the nearest of the five
    valued ratings; a tie goes towards the middle."""
    number = _number(value, f"{field}.ratingValue")
    top = _number(best, f"{field}.bestRating") if best is not None else Decimal(5)
    bottom = _number(worst, f"{field}.worstRating") if worst is not None else Decimal(1)
    if top == bottom:
        raise UnmappableRating(
            f"{field}.bestRating", "bestRating and worstRating are the same: no scale.", None
        )
    if not min(top, bottom) <= number <= max(top, bottom):
        raise UnmappableRating(
            f"{field}.ratingValue",
            f"ratingValue {number} is not between worstRating {bottom} and bestRating {top}.",
            None,
        )
    on_ours = 1 + 4 * (number - bottom) / (top - bottom)
    nearest = int(on_ours.to_integral_value(rounding="ROUND_HALF_UP"))
    if on_ours - int(on_ours) == Decimal("0.5") and nearest > _MIDDLE:
        nearest -= 1  # a tie above the middle goes down, towards it
    rating = _VALUED[nearest - 1]
    return MappedRating(
        rating,
        f"ratingValue {number} on a scale from {bottom} (worst) to {top} (best) "
        f"→ {rating.value} (nearest of 1 to 5)",
    )


def _number(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnmappableRating(field, f"{field} is not a number.", None)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise UnmappableRating(field, f"{field} is not a number: {value!r}.", None) from None
    if not number.is_finite():
        raise UnmappableRating(field, f"{field} is not a finite number.", None)
    return number


def rows_of(table: Mapping[str, object], source: str) -> list[LabelRow]:
    """The rows of a labels table (`{"labels": [{label, rating, publisher}, ...]}`);
    ValueError naming `source` when it is not one."""
    labels = table.get("labels")
    if not isinstance(labels, list):
        raise ValueError(f"{source}: no list of labels")
    rows = []
    for number, entry in enumerate(labels, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
            raise ValueError(f"{source}: label {number} is not an object with a label")
        try:
            rating = Rating(str(entry.get("rating")))
        except ValueError:
            raise ValueError(
                f"{source}: label {number} ({entry['label']!r}) has no rating of the ledger's "
                f"scale ({', '.join(r.value for r in Rating)})"
            ) from None
        label = entry["label"]
        if not normalized_label(label):
            raise ValueError(f"{source}: label {number} has no letters or digits")
        rows.append(LabelRow(label, rating, str(entry.get("publisher") or source)))
    return rows
