"""The words of full-text search (SPEC §4, `GET /claims?q=`).

A word is a run of Unicode letters and digits, compared case-insensitively
(Unicode case folding), without stemming. Both backends index exactly the
words computed here and are asked for exactly these words, so they cannot
disagree: neither database's own tokenizer ever splits, stems or folds.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_QUERY_CHARS", "MAX_WORD_CHARS", "words"]

MAX_WORD_CHARS: Final = 255
"""Longer words are cut to this length, in documents and queries alike:
PostgreSQL refuses lexemes over 2,047 bytes."""

MAX_QUERY_CHARS: Final = 500

# `\w` is letters, digits and the underscore; removing the underscore leaves
# runs of letters (L*) and digits (N*).
_WORD: Final = re.compile(r"[^\W_]+")


def words(*texts: str) -> list[str]:
    """The distinct words of the texts, case-folded, in order of first appearance."""
    found: dict[str, None] = {}
    for text in texts:
        for match in _WORD.finditer(text):
            found[match.group().casefold()[:MAX_WORD_CHARS]] = None
    return list(found)
