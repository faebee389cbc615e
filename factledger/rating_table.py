"""The table of fact-checkers' rating labels that ClaimReview import maps:
the one shipped with the ledger (`rating_labels.json`, documented in
docs/claimreview.md), extended by the operator's file when the settings name
one (`FACTLEDGER_RATING_LABELS_FILE`; its rows win)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ledger.rating_labels import LabelRow, RatingLabels, rows_of

__all__ = ["load_rating_labels", "shipped_rows"]

SHIPPED = "rating_labels.json"


def shipped_rows() -> list[LabelRow]:
    text = resources.files("factledger").joinpath(SHIPPED).read_text(encoding="utf-8")
    return rows_of(json.loads(text), SHIPPED)


def load_rating_labels(extra: Path | None) -> RatingLabels:
    """The shipped table and the operator's; ValueError saying what is wrong
    with the operator's file (checked at start-up)."""
    rows = shipped_rows()
    if extra is not None:
        try:
            table = json.loads(extra.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ValueError(f"{extra}: {error}") from None
        if not isinstance(table, dict):
            raise ValueError(f"{extra}: not a JSON object with a list of labels")
        rows += rows_of(table, str(extra))
    return RatingLabels(rows)
