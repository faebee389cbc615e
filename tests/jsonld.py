"""JSON-LD in tests: expanding a ClaimReview offline."""

from __future__ import annotations

from typing import Any

from pyld import jsonld

SCHEMA = "https://schema.org/"


def schema_org_context(url: str, options: Any = None) -> dict[str, Any]:
    """schema.org's context, offline: its vocabulary is all a ClaimReview uses."""
    assert url.rstrip("/") in ("https://schema.org", "http://schema.org"), url
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": {"@context": {"@vocab": SCHEMA}},
    }


def expanded(document: dict[str, Any]) -> dict[str, Any]:
    """The document's one node, expanded to full IRIs (pyld)."""
    [node] = jsonld.expand(document, {"documentLoader": schema_org_context})
    result: dict[str, Any] = node
    return result
