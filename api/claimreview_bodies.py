"""The body of `POST /import/claimreview`, read into ClaimReview nodes: one
ClaimReview, a JSON list of them, or an HTML page whose
`<script type="application/ld+json">` blocks hold them (as objects, lists or
`@graph`s, whose `{"@id": ...}` references are followed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Final

from fastapi import Request

from api.deps import parse_json, read_limited
from api.problems import FieldError, ProblemError
from ledger.claimreview_reading import types_of

__all__ = ["MAX_IMPORT_BYTES", "MAX_REVIEWS", "ReviewBody", "review_body"]

MAX_IMPORT_BYTES: Final = 2 * 1024 * 1024
"""A fact-check's HTML page is larger than a JSON write body may be."""
MAX_REVIEWS: Final = 100
"""Reviews one request imports at most, so that it is answered in time."""

_JSON_TYPES: Final = frozenset({"application/json", "application/ld+json"})
_HTML: Final = "text/html"
_LD_JSON: Final = re.compile(r"^\s*application/ld\+json\s*(;.*)?$", re.IGNORECASE)
_REFERENCE_DEPTH: Final = 4


@dataclass(frozen=True)
class ReviewBody:
    reviews: list[Any]
    """Each a ClaimReview node, or (in a list) an item that is not one."""
    single: bool
    """One ClaimReview was sent, not a list or a page: it is answered alone."""


async def review_body(request: Request) -> ReviewBody:
    """413 when too large, 415 when neither JSON nor HTML, 422 when no ClaimReview is found."""
    raw = await read_limited(request, MAX_IMPORT_BYTES)
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    media_type = media_type.strip().lower()
    if media_type in _JSON_TYPES:
        found = _from_json(parse_json(raw))
    elif media_type == _HTML:
        found = _from_html(_decoded(raw, parameters))
    else:
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Send one ClaimReview or a list of them as application/json (or "
            "application/ld+json), or a page holding them as text/html.",
        )
    if not found.reviews:
        raise _refused("body", "The body holds no ClaimReview.")
    if len(found.reviews) > MAX_REVIEWS:
        raise _refused(
            "body", f"The body holds {len(found.reviews)} reviews; at most {MAX_REVIEWS} a request."
        )
    return found


def _from_json(document: Any) -> ReviewBody:
    if isinstance(document, list):
        reviews: list[Any] = []
        for item in document:
            if isinstance(item, dict) and "@graph" in item:
                reviews += _claim_reviews(item)
            else:
                reviews.append(item)
        return ReviewBody(reviews, single=False)
    if isinstance(document, dict):
        if "@graph" in document:
            return ReviewBody(_claim_reviews(document), single=False)
        if "ClaimReview" in types_of(document):
            return ReviewBody([document], single=True)
    raise _refused("@type", "The body is not a ClaimReview, a list of them, or a @graph.")


def _from_html(page: str) -> ReviewBody:
    scripts = _LinkedData()
    scripts.feed(page)
    scripts.close()
    reviews: list[Any] = []
    for block in scripts.blocks:
        try:
            document = parse_json(block.encode("utf-8"))
        except ProblemError:
            continue  # a block that is not JSON holds no review we can read
        for item in document if isinstance(document, list) else [document]:
            if isinstance(item, dict):
                reviews += _claim_reviews(item)
    return ReviewBody(reviews, single=False)


def _claim_reviews(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The ClaimReviews of a JSON-LD object (itself, or the nodes of its
    `@graph`), with references to other nodes of the graph followed."""
    graph = document.get("@graph")
    nodes = [n for n in graph if isinstance(n, dict)] if isinstance(graph, list) else [document]
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    return [
        _resolved(node, by_id, _REFERENCE_DEPTH)
        for node in nodes
        if "ClaimReview" in types_of(node)
    ]


def _resolved(value: Any, by_id: dict[str, dict[str, Any]], depth: int) -> Any:
    if depth == 0:
        return value
    if isinstance(value, list):
        return [_resolved(item, by_id, depth - 1) for item in value]
    if isinstance(value, dict):
        if set(value) == {"@id"} and value["@id"] in by_id:
            value = by_id[value["@id"]]
        return {key: _resolved(item, by_id, depth - 1) for key, item in value.items()}
    return value


class _LinkedData(HTMLParser):
    """Collects the text of every `<script type="application/ld+json">`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and _LD_JSON.match(dict(attrs).get("type") or ""):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.blocks.append("".join(self._current))
            self._current = None


def _decoded(raw: bytes, parameters: str) -> str:
    charset = re.search(r"charset\s*=\s*\"?([\w-]+)", parameters, re.IGNORECASE)
    try:
        return raw.decode(charset[1] if charset else "utf-8", errors="replace")
    except LookupError:
        raise ProblemError(
            415, "unsupported-media-type", f"Unknown charset {charset[1] if charset else ''}."
        ) from None


def _refused(field: str, detail: str) -> ProblemError:
    return ProblemError(
        422, "invalid-request", detail, errors=[FieldError(field=field, message=detail)]
    )
